import { spawn } from 'node:child_process';
import sharp from 'sharp';
import type { Logger } from '../../../platform/logger.js';
import type { MediaKind } from './sniff.js';

/** The longest side of a thumbnail, in pixels. */
export const THUMBNAIL_SIZE = 320;
const TOOL_TIMEOUT_MS = 60_000;

export interface MediaTools {
  /** Paths or names on PATH of Debian's `ffprobe` and `ffmpeg`. */
  ffprobe: string;
  ffmpeg: string;
}

export interface Extracted {
  width: number | null;
  height: number | null;
  durationMs: number | null;
  /** A JPEG at most THUMBNAIL_SIZE on its longest side. */
  thumbnail: Buffer | null;
}

const NOTHING: Extracted = { width: null, height: null, durationMs: null, thumbnail: null };

class ToolMissing extends Error {}

/** Runs a tool to completion and returns its stdout; ToolMissing when it is not installed. */
function run(command: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), TOOL_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-2_000);
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new ToolMissing(`${command} is not installed`) : error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${command} failed (${signal ?? code}): ${err.trim()}`));
    });
  });
}

function thumbnailOf(input: string | Buffer): Promise<Buffer> {
  return sharp(input)
    .rotate() // upright, as EXIF orientation says
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 80 })
    .toBuffer();
}

async function photo(file: string): Promise<Extracted> {
  const metadata = await sharp(file).metadata();
  // Dimensions as displayed: EXIF orientations 5 to 8 turn the picture a quarter.
  const turned = (metadata.orientation ?? 1) >= 5;
  return {
    width: (turned ? metadata.height : metadata.width) ?? null,
    height: (turned ? metadata.width : metadata.height) ?? null,
    durationMs: null,
    thumbnail: await thumbnailOf(file),
  };
}

interface Probe {
  streams?: { codec_type?: string; width?: number; height?: number }[];
  format?: { duration?: string };
}

async function video(file: string, tools: MediaTools, logger: Logger): Promise<Extracted> {
  const probe = JSON.parse(
    (
      await run(tools.ffprobe, [
        '-v',
        'error',
        '-print_format',
        'json',
        '-show_entries',
        'stream=codec_type,width,height:format=duration',
        file,
      ])
    ).toString(),
  ) as Probe;
  const stream = probe.streams?.find((each) => each.codec_type === 'video');
  const seconds = Number(probe.format?.duration);
  return {
    width: stream?.width ?? null,
    height: stream?.height ?? null,
    durationMs: Number.isFinite(seconds) ? Math.round(seconds * 1_000) : null,
    // Without a thumbnail the dimensions and duration are still worth keeping.
    thumbnail: await videoThumbnail(file, tools).catch((error: unknown) => {
      logger.warn({ err: error }, 'video thumbnail could not be made');
      return null;
    }),
  };
}

/** The first frame, as PNG on stdout, then scaled by the same code as photo thumbnails. */
async function videoThumbnail(file: string, tools: MediaTools): Promise<Buffer | null> {
  const frame = await run(tools.ffmpeg, [
    '-v',
    'error',
    '-i',
    file,
    '-frames:v',
    '1',
    '-f',
    'image2pipe',
    '-vcodec',
    'png',
    'pipe:1',
  ]);
  return frame.length > 0 ? thumbnailOf(frame) : null;
}

/**
 * Dimensions, duration and a thumbnail of the media in `file`. Never throws for the media itself:
 * a file the libraries cannot read (HEIC, which the prebuilt sharp does not decode; a damaged
 * video) or a machine without ffprobe yields nulls and a log line, so the asset still serves.
 */
export async function extractMetadata(
  file: string,
  kind: MediaKind,
  tools: MediaTools,
  logger: Logger,
): Promise<Extracted> {
  try {
    return kind === 'PHOTO' ? await photo(file) : await video(file, tools, logger);
  } catch (error) {
    if (error instanceof ToolMissing) {
      logger.warn({ err: error.message }, 'video metadata unavailable: install ffmpeg');
    } else {
      logger.warn({ err: error, kind }, 'media metadata could not be extracted');
    }
    return NOTHING;
  }
}
