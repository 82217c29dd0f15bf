// The password Canal's ClientAuth carries: MySQL 4.1's native-password scramble with the seed of the
// server's Handshake, sent as the UTF-8 bytes of its lowercase hex (40 characters), not as the 20
// raw bytes. The server keeps hex(SHA1(SHA1(password))) as canal.passwd, as MySQL's PASSWORD() does.
import { createHash } from 'node:crypto';

const sha1 = (...parts: Buffer[]) => {
  const hash = createHash('sha1');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** SHA1(seed ‖ SHA1(SHA1(password))) XOR SHA1(password), as lowercase hex. */
export function scramblePassword(password: string, seed: Buffer): string {
  const stage1 = sha1(Buffer.from(password, 'utf8'));
  const stage2 = sha1(stage1);
  const mask = sha1(seed, stage2);
  const token = Buffer.alloc(stage1.length);
  for (let i = 0; i < token.length; i++) token[i] = (stage1[i] as number) ^ (mask[i] as number);
  return token.toString('hex');
}

/** What canal.passwd holds for a password: hex of SHA1(SHA1(password)), upper case as Canal writes it. */
export function serverPasswordHash(password: string): string {
  return sha1(sha1(Buffer.from(password, 'utf8')))
    .toString('hex')
    .toUpperCase();
}
