import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';

/** The PEM files of `--tls-cert` and `--tls-key`. */
export interface TlsFiles {
  /** The certificate chain (PEM): the server's certificate first, then its intermediates. */
  readonly certFile: string;
  /** The private key of the certificate (PEM, unencrypted). */
  readonly keyFile: string;
}

/** A certificate chain and its key, as fastify's `https` option and grpc-js's `createSsl` take them. */
export interface TlsKeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** `--tls-cert`/`--tls-key` that cannot be used: unreadable, not PEM, or a key of another certificate. */
export class TlsConfigError extends Error {}

/**
 * Reads the certificate and key and checks that they load together (OpenSSL's own check, so that
 * a wrong key fails at start with the file names rather than at the first handshake).
 */
export async function readTlsKeyPair(files: TlsFiles): Promise<TlsKeyPair> {
  const read = async (path: string, what: string) => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new TlsConfigError(`cannot read the TLS ${what} ${path}: ${(error as Error).message}`);
    }
  };
  const cert = await read(files.certFile, 'certificate (--tls-cert)');
  const key = await read(files.keyFile, 'key (--tls-key)');
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new TlsConfigError(
      `the TLS certificate ${files.certFile} and key ${files.keyFile} do not load together: ${(error as Error).message}`,
    );
  }
  return { cert, key };
}
