/**
 * Cloud Storage for batch jobs: the environment's bucket, where the gateway stages each batch's requests as JSONL
 * for Vertex AI batch prediction and reads the predictions it writes back (pipeline/resources/batches.ts). Through the
 * official client, `@google-cloud/storage`, with Application Default Credentials on Cloud Run; pointed at another
 * endpoint (the emulator's Cloud Storage, in development and tests) it sends no credentials, as that client does for
 * a custom endpoint. The infrastructure grants the gateway's identity object read/write on this one bucket only.
 */
import { Storage } from "@google-cloud/storage";

export interface ObjectStaging {
  readonly bucket: string;
  /** Writes an object (replacing one of that name). */
  put(name: string, data: Buffer, contentType: string): Promise<void>;
  /** The object's bytes, or undefined when there is none. */
  read(name: string): Promise<Buffer | undefined>;
  /** The names of the objects under a prefix, in name order. */
  list(prefix: string): Promise<string[]>;
  /** Deletes every object under a prefix (what one batch staged and produced). */
  deletePrefix(prefix: string): Promise<void>;
}

export interface StagingOptions {
  bucket: string;
  /** The JSON API's endpoint, e.g. the emulator's URL; default Google's. */
  baseUrl?: string | undefined;
  projectId: string;
}

export function createGcsStaging(o: StagingOptions): ObjectStaging {
  const storage = new Storage({
    projectId: o.projectId,
    ...(o.baseUrl ? { apiEndpoint: o.baseUrl } : {}),
    retryOptions: { autoRetry: true, maxRetries: 3 },
  });
  const bucket = storage.bucket(o.bucket);
  return {
    bucket: o.bucket,
    async put(name, data, contentType) {
      // Resumable for large inputs (Google's advice above a few MB); one request otherwise.
      await bucket.file(name).save(data, { contentType, resumable: data.length > 8 * 1024 * 1024 });
    },
    async read(name) {
      try {
        return (await bucket.file(name).download())[0];
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined;
        throw err;
      }
    },
    async list(prefix) {
      const [files] = await bucket.getFiles({ prefix, autoPaginate: true });
      return files.map((f) => f.name).sort();
    },
    async deletePrefix(prefix) {
      const [files] = await bucket.getFiles({ prefix, autoPaginate: true });
      await Promise.all(files.map((f) => f.delete({ ignoreNotFound: true })));
    },
  };
}
