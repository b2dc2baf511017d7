// SHA-256 of a stream without holding it: workerd's native DigestStream where it exists (a 1 GiB
// binary hashes in a few seconds of CPU), @noble/hashes elsewhere (tests in Node).
import { sha256 } from '@noble/hashes/sha2.js';
import { hexEncode } from '../../platform/encoding';

interface DigestStreamConstructor {
  new (algorithm: string): WritableStream<Uint8Array> & { digest: Promise<ArrayBuffer> };
}

export async function sha256OfStream(stream: ReadableStream<Uint8Array>): Promise<string> {
  const DigestStream = (crypto as unknown as { DigestStream?: DigestStreamConstructor }).DigestStream;
  if (DigestStream) {
    const digest = new DigestStream('SHA-256');
    await stream.pipeTo(digest);
    return hexEncode(new Uint8Array(await digest.digest));
  }
  const hash = sha256.create();
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hash.update(value);
  }
  return hexEncode(hash.digest());
}
