import { PassThrough, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BlobNotFound, type BlobStore, type ByteRange } from './blob-store.js';

export interface S3StoreOptions {
  bucket: string;
  /** Blob names are stored under this key prefix, for a bucket shared with other data. */
  keyPrefix: string;
  /** Unset for AWS; the server's URL for MinIO, R2 or a local S3-compatible server. */
  endpoint?: string;
  region: string;
  /** Path-style URLs (`<endpoint>/<bucket>/<key>`), which MinIO and local servers need. */
  forcePathStyle: boolean;
  /** Unset: the AWS SDK's own chain (AWS_ACCESS_KEY_ID and the rest, profiles, instance roles). */
  credentials?: S3ClientConfig['credentials'];
}

/** The client both the store and its tests use, so they sign requests the same way. */
export function s3Client(options: S3StoreOptions): S3Client {
  return new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials: options.credentials,
    // Checksums only where S3 requires them: the SDK's default streams bodies with aws-chunked
    // trailing checksums, which MinIO versions and other S3-compatible servers do not all accept.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

function isMissing(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.name === 'NoSuchKey' ||
      error.name === 'NotFound' ||
      error.$metadata.httpStatusCode === 404)
  );
}

/**
 * Blobs in S3-compatible object storage. An upload of unknown length goes up as a multipart upload
 * (5 MB parts, so memory stays bounded); one that fails is aborted, which drops its parts, and the
 * key is deleted in case the last part had completed it.
 */
export function s3BlobStore(options: S3StoreOptions, client = s3Client(options)): BlobStore {
  const key = (name: string) => `${options.keyPrefix}${name}`;
  return {
    async put(name, body, contentType) {
      // lib-storage reads its body itself; a PassThrough lets a failing source reach it as an error.
      const through = new PassThrough();
      const upload = new Upload({
        client,
        params: { Bucket: options.bucket, Key: key(name), Body: through, ContentType: contentType },
        leavePartsOnError: false,
      });
      // pipe() forwards no errors: a source that fails or closes early must fail the upload here.
      const sourceFailed = finished(body).then(() => new Promise<never>(() => undefined));
      body.pipe(through);
      try {
        await Promise.race([upload.done(), sourceFailed]);
      } catch (error) {
        through.destroy();
        await upload.abort().catch(() => undefined);
        await client
          .send(new DeleteObjectCommand({ Bucket: options.bucket, Key: key(name) }))
          .catch(() => undefined);
        throw error;
      }
    },

    async get(name, range?: ByteRange) {
      try {
        const object = await client.send(
          new GetObjectCommand({
            Bucket: options.bucket,
            Key: key(name),
            Range: range ? `bytes=${range.start}-${range.end}` : undefined,
          }),
        );
        // A range's answer names the whole object's size after the slash.
        const total = object.ContentRange?.split('/')[1];
        return {
          body: object.Body as Readable,
          size: total !== undefined ? Number(total) : (object.ContentLength ?? -1),
        };
      } catch (error) {
        if (isMissing(error)) throw new BlobNotFound(name);
        throw error;
      }
    },

    async delete(name) {
      // S3 answers 204 whether or not the key existed.
      await client.send(new DeleteObjectCommand({ Bucket: options.bucket, Key: key(name) }));
    },

    async ping() {
      try {
        await client.send(new HeadBucketCommand({ Bucket: options.bucket }));
        return true;
      } catch {
        return false;
      }
    },

    async close() {
      client.destroy();
    },
  };
}
