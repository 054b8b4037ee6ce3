import * as z from "zod";

/** The second reference's remote-host parameters, shared by manage_vm, list_vms and monitor_vm_status. */
export const remoteArgs = {
  host: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[^\s'"`$;|&<>]+$/, "a host name or address")
    .optional()
    .describe("remote host name/IP or a hosts.yaml name; empty for this machine"),
  ssh_port: z.int().min(1).max(65535).optional().describe("SSH port of the remote host (default 22)"),
  ssh_user: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .optional()
    .describe("SSH user on the remote host"),
  ssh_pwd: z
    .string()
    .optional()
    .describe("refused unless the server was started with --allow-ssh-password: prefer ssh_key, ssh-agent or password_env in hosts.yaml"),
  ssh_key: z.string().optional().describe("path of a private key on this machine (takes precedence over a password)"),
};
