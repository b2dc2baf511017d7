// s3rver encrypts ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 (Node 17 and
// later) only offers through its legacy provider: on Node 22 the second page of a listing is a
// 500. Triple DES with three equal keys is single DES, and is still in OpenSSL's default provider,
// so s3rver's calls are redirected to it (s3rver runs in this process and looks the functions up
// on the `crypto` module at each call).
import crypto from 'node:crypto';

const original = { createCipheriv: crypto.createCipheriv, createDecipheriv: crypto.createDecipheriv };

const tripled = (key: crypto.CipherKey) => Buffer.concat([key as Buffer, key as Buffer, key as Buffer]);

export function enableSingleDes(): void {
  Object.assign(crypto, {
    createCipheriv: (algorithm: string, key: crypto.CipherKey, iv: crypto.BinaryLike, options?: never) =>
      algorithm === 'des' ? original.createCipheriv('des-ede3-cbc', tripled(key), iv) : original.createCipheriv(algorithm, key, iv, options),
    createDecipheriv: (algorithm: string, key: crypto.CipherKey, iv: crypto.BinaryLike, options?: never) =>
      algorithm === 'des' ? original.createDecipheriv('des-ede3-cbc', tripled(key), iv) : original.createDecipheriv(algorithm, key, iv, options),
  });
}

export function restoreDes(): void {
  Object.assign(crypto, original);
}
