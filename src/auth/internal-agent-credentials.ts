// Internal agents (PHOBOS_INTERNAL_AGENTS_<n>_*) are shared agents the installation runs itself, as
// the Phobos API runs its internal agents: they have no service account. The process that runs them
// (`npm start`, or an operator's own supervisor) holds the installation secret, so each agent's
// credential is derived from it and the agent's name: an HMAC the Worker recomputes, never stored,
// and changed with the secret. Sent as `Authorization: Bearer pia_<name>.<mac>`.
import { base64urlEncode, constantTimeEqual, utf8Encode } from '../platform/encoding';
import { derivedKey } from '../platform/derived-keys';

const purpose = 'phobos-edge/internal-agents/v1';
export const internalAgentCredentialPrefix = 'pia_';

const macKey = (secret: string) => derivedKey(secret, purpose, { name: 'HMAC', hash: 'SHA-256', length: 256 }, ['sign']);

async function mac(secret: string, agentName: string): Promise<string> {
  return base64urlEncode(new Uint8Array(await crypto.subtle.sign('HMAC', await macKey(secret), utf8Encode(agentName))));
}

/** The credential of the internal agent `agentName` (the Node side computes it to start the agent). */
export async function internalAgentCredential(secret: string, agentName: string): Promise<string> {
  return `${internalAgentCredentialPrefix}${agentName}.${await mac(secret, agentName)}`;
}

/** The internal agent's name the credential proves, or null when it proves nothing. */
export async function verifyInternalAgentCredential(secret: string, credential: string): Promise<string | null> {
  if (!credential.startsWith(internalAgentCredentialPrefix)) return null;
  const rest = credential.slice(internalAgentCredentialPrefix.length);
  const dot = rest.lastIndexOf('.');
  if (dot <= 0) return null;
  const name = rest.slice(0, dot);
  return constantTimeEqual(rest.slice(dot + 1), await mac(secret, name)) ? name : null;
}
