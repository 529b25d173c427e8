import { useMutation } from '@apollo/client/react';
import { useState, type FormEvent } from 'react';
import { CreatePost, FeedQuery } from './operations';
import { uploadAsset } from './upload';

export function NewPost(props: { gatewayUrl: string; token: string }) {
  const [file, setFile] = useState<File | null>(null);
  const [caption, setCaption] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  // The new post heads the feed: the first page is read again.
  const [createPost] = useMutation(CreatePost, { refetchQueries: [FeedQuery] });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!file) return;
    setError(null);
    setProgress(0);
    try {
      const asset = await uploadAsset(props.gatewayUrl, props.token, file, setProgress);
      await createPost({
        variables: {
          input: { caption: caption.trim() || null, media: [{ assetId: asset.id }] },
        },
        awaitRefetchQueries: true,
      });
      setFile(null);
      setCaption('');
      (event.target as HTMLFormElement).reset();
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setProgress(null);
    }
  };

  return (
    <form className="new-post" onSubmit={(event) => void submit(event)}>
      <input
        type="file"
        accept="image/*,video/*"
        data-testid="file-input"
        onChange={(event) => setFile(event.target.files?.[0] ?? null)}
      />
      <input
        data-testid="caption-input"
        value={caption}
        maxLength={2_200}
        placeholder="Caption"
        onChange={(event) => setCaption(event.target.value)}
      />
      <button type="submit" data-testid="share" disabled={!file || progress !== null}>
        Share
      </button>
      {progress !== null && (
        <progress data-testid="upload-progress" max={1} value={progress}>
          {Math.round(progress * 100)}%
        </progress>
      )}
      {error && (
        <p className="state error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
