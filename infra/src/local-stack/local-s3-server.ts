import { mkdir } from "node:fs/promises";
import S3rver from "s3rver";

export interface LocalS3Server {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/** s3rver on loopback with the models bucket created; objects persist under `directory`. */
export async function startLocalS3Server(options: {
  directory: string;
  port: number;
  bucket: string;
}): Promise<LocalS3Server> {
  await mkdir(options.directory, { recursive: true });
  const server = new S3rver({
    address: "127.0.0.1",
    port: options.port,
    directory: options.directory,
    silent: true,
    configureBuckets: [{ name: options.bucket }],
  });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket: options.bucket,
    // s3rver accepts these fixed credentials (it checks signatures, not identities).
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    stop: () => server.close(),
  };
}
