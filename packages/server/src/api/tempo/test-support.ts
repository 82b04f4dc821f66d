/**
 * Test support for the Tempo API tests: Tempo's own protobuf definitions (./proto, copied from
 * grafana/tempo and opentelemetry-proto) loaded with protobufjs, to decode responses
 * independently of the encoder under test. Not for production code.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const PROTO_DIR = join(fileURLToPath(new URL('.', import.meta.url)), 'proto');

let root: protobuf.Root | undefined;

/** The `tempopb` package as upstream defines it (imports resolved within ./proto). */
export function upstreamTempoProto(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (origin, target) => {
    if (origin === '') return target;
    // protobufjs bundles google/protobuf/*; gogo.proto only declares options, which are not needed.
    if (target.startsWith('google/protobuf/')) return target;
    if (target.startsWith('github.com/gogo/')) return null;
    return join(PROTO_DIR, target);
  };
  r.loadSync(join(PROTO_DIR, 'tempo.proto'));
  r.resolveAll();
  root = r;
  return r;
}

/**
 * Decodes a message with the upstream definitions into plain objects: 64-bit integers as decimal
 * strings, bytes as base64, enums by name, zero values left out (as gogo-jsonpb writes JSON).
 */
export function decodeUpstream(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = upstreamTempoProto().lookupType(typeName);
  return type.toObject(type.decode(bytes), { longs: String, bytes: String, enums: String, defaults: false });
}
