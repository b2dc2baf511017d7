// The shapes of the Proxmox VE API answers the railing reads (pve-docs, API viewer: GET /nodes,
// GET /cluster/resources, GET /nodes/{node}/{qemu|lxc}/{vmid}/status/current, POST …/status/*).
// Every answer is `{ "data": … }`. Only the fields the railing passes on are declared; Proxmox VE
// adds others over versions, which are ignored. Flags come as 0/1 (newer versions: booleans).
import { z } from 'zod';

const flag = z.union([z.number(), z.boolean()]).transform((value) => value === true || value === 1);
const count = z.number().nonnegative();
/** Absent on offline nodes and stopped guests in some versions: null then. */
const optionalCount = count.nullish().transform((value) => value ?? null);
/** `vmid` is an integer; a few status answers of older versions send it as a string. */
const vmid = z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]);

export const guestTypes = ['qemu', 'lxc'] as const;
export type GuestType = (typeof guestTypes)[number];

export const nodeAnswer = z.object({
  node: z.string(),
  status: z.string(),
  cpu: optionalCount,
  maxcpu: optionalCount,
  mem: optionalCount,
  maxmem: optionalCount,
  disk: optionalCount,
  maxdisk: optionalCount,
  uptime: optionalCount,
  level: z
    .string()
    .nullish()
    .transform((value) => value || null),
});
export type ProxmoxNode = z.output<typeof nodeAnswer>;

export const storageAnswer = z.object({
  storage: z.string(),
  node: z.string(),
  status: z.string(),
  plugintype: z
    .string()
    .nullish()
    .transform((value) => value ?? null),
  /** A comma-separated list: `images,rootdir`. */
  content: z
    .string()
    .nullish()
    .transform((value) => (value ? value.split(',').filter(Boolean) : [])),
  shared: flag.nullish().transform((value) => value ?? false),
  disk: optionalCount,
  maxdisk: optionalCount,
});
export type ProxmoxStorage = z.output<typeof storageAnswer>;

export const guestAnswer = z.object({
  vmid,
  name: z
    .string()
    .nullish()
    .transform((value) => value ?? null),
  node: z.string(),
  type: z.enum(guestTypes),
  status: z.string(),
  cpu: optionalCount,
  maxcpu: optionalCount,
  mem: optionalCount,
  maxmem: optionalCount,
  disk: optionalCount,
  maxdisk: optionalCount,
  uptime: optionalCount,
  pool: z
    .string()
    .nullish()
    .transform((value) => value || null),
  /** Separated by `;` (also `,` or spaces in what older versions accept). */
  tags: z
    .string()
    .nullish()
    .transform((value) => (value ? value.split(/[;, ]+/).filter(Boolean) : [])),
  template: flag.nullish().transform((value) => value ?? false),
});
export type ProxmoxGuest = z.output<typeof guestAnswer>;

export const guestStatusAnswer = z.object({
  vmid,
  status: z.string(),
  name: z
    .string()
    .nullish()
    .transform((value) => value ?? null),
  /** QEMU's own view (`running`, `paused`, `prelaunch`, …); absent for containers. */
  qmpstatus: z
    .string()
    .nullish()
    .transform((value) => value ?? null),
  lock: z
    .string()
    .nullish()
    .transform((value) => value ?? null),
  cpu: optionalCount,
  cpus: optionalCount,
  mem: optionalCount,
  maxmem: optionalCount,
  disk: optionalCount,
  maxdisk: optionalCount,
  uptime: optionalCount,
  ha: z
    .object({ managed: flag.nullish().transform((value) => value ?? false) })
    .nullish()
    .transform((value) => ({ managed: value?.managed ?? false })),
});
export type ProxmoxGuestStatus = z.output<typeof guestStatusAnswer>;

/** A task id: `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:`. */
export const upidAnswer = z.string().regex(/^UPID:[^:\s]+:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:[^:\s]+:[^:\s]*:[^:\s]+:$/i);
