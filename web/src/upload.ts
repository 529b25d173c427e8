/** What `POST /assets` answers. */
export interface Asset {
  id: string;
  kind: 'PHOTO' | 'VIDEO';
  url: string;
}

/**
 * Uploads a file to the gateway's `/assets`. XMLHttpRequest rather than fetch: only it reports
 * upload progress, which a photo on a slow network needs.
 */
export function uploadAsset(
  gatewayUrl: string,
  token: string,
  file: File,
  onProgress: (fraction: number) => void,
): Promise<Asset> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', `${gatewayUrl}/assets`);
    request.setRequestHeader('authorization', `Bearer ${token}`);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      let body: { error?: { message?: string } } & Partial<Asset> = {};
      try {
        body = JSON.parse(request.responseText) as typeof body;
      } catch {
        // Not JSON: the status says enough.
      }
      if (request.status === 201 && body.id) resolve(body as Asset);
      else reject(new Error(body.error?.message ?? `Upload failed (HTTP ${request.status})`));
    };
    request.onerror = () => reject(new Error('Upload failed: the network is unreachable'));
    const form = new FormData();
    form.append('file', file);
    request.send(form);
  });
}
