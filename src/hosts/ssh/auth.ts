import { readFileSync } from "node:fs";
import type { AnyAuthMethod, AuthenticationType, ParsedKey } from "ssh2";
import type { SshTarget } from "./target.js";

type ParseKey = (data: Buffer | string, passphrase?: string) => ParsedKey | Error;

/**
 * The authentication methods of one connection, in this order: ssh-agent ($SSH_AUTH_SOCK),
 * identity files (an encrypted key is decrypted with the passphrase in the environment variable
 * `passphrase_env` names), then a password (a one-call password held in memory, else the
 * variable `password_env` names; offered as keyboard-interactive when the server only takes
 * that). Contract: secrets are read from the environment at connect time and live only in
 * this object; `tried` and `skipped` say, without secrets, what was attempted, for the
 * "authentication failed" message.
 */
export interface AuthPlan {
  next(methodsLeft: AuthenticationType[] | null): AnyAuthMethod | false;
  tried: string[];
  skipped: string[];
}

export function authPlan(t: SshTarget, parseKey: ParseKey, oneCallPassword?: string): AuthPlan {
  const skipped: string[] = [];
  const candidates: { label: string; needs: AuthenticationType[]; method: AnyAuthMethod }[] = [];
  const username = t.user;
  const agent = process.env.SSH_AUTH_SOCK;
  if (agent) candidates.push({ label: "ssh-agent", needs: ["publickey"], method: { type: "agent", username, agent } });

  for (const file of t.identityFiles) {
    const key = loadKey(file, t, parseKey, skipped);
    if (key) candidates.push({ label: `key ${file}`, needs: ["publickey"], method: { type: "publickey", username, key } });
  }

  const password = oneCallPassword ?? (t.passwordEnv ? process.env[t.passwordEnv] : undefined);
  const pwLabel = oneCallPassword !== undefined ? "the password given for this call" : `password from $${t.passwordEnv}`;
  if (t.passwordEnv && oneCallPassword === undefined && !password) skipped.push(`password: $${t.passwordEnv} is not set`);
  if (password) {
    candidates.push({ label: pwLabel, needs: ["password"], method: { type: "password", username, password } });
    candidates.push({
      label: `${pwLabel} (keyboard-interactive)`,
      needs: ["keyboard-interactive"],
      method: { type: "keyboard-interactive", username, prompt: (_n, _i, _l, prompts, finish) => finish(prompts.map(() => password)) },
    });
  }

  const plan: AuthPlan = {
    tried: [],
    skipped,
    next(methodsLeft) {
      for (;;) {
        const c = candidates.shift();
        if (!c) return false;
        if (methodsLeft && !c.needs.some((m) => methodsLeft.includes(m))) continue; // the server does not take it
        if (c.method.type === "keyboard-interactive" && plan.tried.includes(pwLabel)) continue; // same password, already refused
        plan.tried.push(c.label);
        return c.method;
      }
    },
  };
  return plan;
}

function loadKey(file: string, t: SshTarget, parseKey: ParseKey, skipped: string[]): ParsedKey | null {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    if (t.identityConfigured) skipped.push(`key ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    return null;
  }
  const passphrase = t.passphraseEnv ? process.env[t.passphraseEnv] : undefined;
  const parsed = parseKey(data, passphrase);
  const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
  if (!(key instanceof Error)) return key;
  const encrypted = /encrypted|passphrase|bad decrypt/i.test(key.message);
  if (!encrypted) skipped.push(`key ${file}: not a private key ssh2 can read (${key.message})`);
  else if (!t.passphraseEnv) skipped.push(`key ${file}: encrypted, and no passphrase_env is set for ${t.name}`);
  else if (!passphrase) skipped.push(`key ${file}: encrypted, and $${t.passphraseEnv} is not set`);
  else skipped.push(`key ${file}: the passphrase in $${t.passphraseEnv} does not decrypt it`);
  return null;
}
