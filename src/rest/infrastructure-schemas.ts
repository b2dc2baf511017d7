// The railing's infrastructure shapes (Proxmox VE's own field names and units, as the Phoenix
// railing passes them on: `cpu` a fraction of `maxcpu` cores, memory and disk in bytes, `uptime` in
// seconds; null where Proxmox VE reports nothing, e.g. an offline node) and the parameters naming a
// node, a VM and its type. Declared once here: they validate requests and describe the OpenAPI
// document.
import { z } from '@hono/zod-openapi';

const usage = {
  cpu: z.number().nullable().openapi({ description: 'CPU use, a fraction of `maxcpu` (0.25 = a quarter of all cores).', example: 0.031 }),
  maxcpu: z.number().nullable().openapi({ description: 'Cores.', example: 8 }),
  mem: z.number().nullable().openapi({ description: 'Memory in use, bytes.', example: 4294967296 }),
  maxmem: z.number().nullable().openapi({ description: 'Memory, bytes.', example: 34359738368 }),
  disk: z.number().nullable().openapi({ description: 'Disk in use, bytes.', example: 10737418240 }),
  maxdisk: z.number().nullable().openapi({ description: 'Disk, bytes.', example: 107374182400 }),
  uptime: z.number().nullable().openapi({ description: 'Seconds since start.', example: 86400 }),
};

export const nodeSchema = z
  .object({
    node: z.string().openapi({ example: 'pve1' }),
    status: z.string().openapi({ description: '`online`, `offline` or `unknown`.', example: 'online' }),
    ...usage,
    level: z.string().nullable().openapi({ description: 'Subscription level, when any.', example: null }),
  })
  .openapi('InfraNode');

export const storageSchema = z
  .object({
    storage: z.string().openapi({ example: 'local-lvm' }),
    node: z.string().openapi({ description: 'The node this entry reports from (shared storage appears once per node).', example: 'pve1' }),
    status: z.string().openapi({ example: 'available' }),
    plugintype: z.string().nullable().openapi({ example: 'lvmthin' }),
    content: z.array(z.string()).openapi({ example: ['images', 'rootdir'] }),
    shared: z.boolean(),
    disk: usage.disk,
    maxdisk: usage.maxdisk,
  })
  .openapi('InfraStorage');

const guestTypeSchema = z.enum(['qemu', 'lxc']).openapi({ description: '`qemu` for a VM, `lxc` for a container.' });

const tenantSchema = z.object({ id: z.uuid(), name: z.string().openapi({ example: 'acme' }) }).openapi('RailingTenant');

export const vmSchema = z
  .object({
    vmid: z.number().int().openapi({ example: 100 }),
    name: z.string().nullable().openapi({ example: 'web-1' }),
    node: z.string().openapi({ example: 'pve1' }),
    type: guestTypeSchema,
    status: z.string().openapi({ description: '`running`, `stopped`, …', example: 'running' }),
    cpu: usage.cpu,
    maxcpu: usage.maxcpu,
    mem: usage.mem,
    maxmem: usage.maxmem,
    disk: usage.disk,
    maxdisk: usage.maxdisk,
    uptime: usage.uptime,
    pool: z.string().nullable().openapi({ description: 'The Proxmox VE pool; a VM belongs to the organization of the same name.', example: 'acme' }),
    tags: z.array(z.string()).openapi({ example: ['web'] }),
    template: z.boolean(),
  })
  .openapi('Vm');

export const ownedVmSchema = vmSchema.extend({ tenant: tenantSchema.nullable() }).openapi('TenantVm');

export const vmStatusSchema = z
  .object({
    node: z.string().openapi({ example: 'pve1' }),
    vmid: z.number().int().openapi({ example: 100 }),
    type: guestTypeSchema,
    name: z.string().nullable().openapi({ example: 'web-1' }),
    status: z.string().openapi({ example: 'running' }),
    qmpstatus: z.string().nullable().openapi({ description: "QEMU's own state (`running`, `paused`, …); null for containers.", example: 'running' }),
    lock: z.string().nullable().openapi({ description: 'A lock held on the guest (`backup`, `migrate`, …).', example: null }),
    cpu: usage.cpu,
    cpus: z.number().nullable().openapi({ example: 2 }),
    mem: usage.mem,
    maxmem: usage.maxmem,
    disk: usage.disk,
    maxdisk: usage.maxdisk,
    uptime: usage.uptime,
    ha: z.object({ managed: z.boolean() }),
    tenant: tenantSchema.nullable(),
  })
  .openapi('VmStatus');

export const vmActionSchema = z
  .object({
    node: z.string().openapi({ example: 'pve1' }),
    vmid: z.number().int().openapi({ example: 100 }),
    type: guestTypeSchema,
    action: z.enum(['start', 'stop', 'reboot']),
    upid: z.string().openapi({
      description: 'The Proxmox VE task carrying the action out.',
      example: 'UPID:pve1:0000ABCD:0001F2E3:65A1B2C3:qmstart:100:root@pam!phobos:',
    }),
  })
  .openapi('VmAction');

/** A Proxmox VE node name: a DNS label. */
export const nodeParam = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/, 'must be a Proxmox VE node name (letters, digits and hyphens, at most 63)')
  .openapi({ description: 'A Proxmox VE node name.', example: 'pve1' });

/** 100 to 999999999, Proxmox VE's range of guest ids, as decimal digits. */
export const vmidParam = z
  .string()
  .regex(/^[1-9]\d{2,8}$/, 'must be an integer from 100 to 999999999')
  .openapi({ description: 'The VM or container id, 100 to 999999999.', example: '100' });

export const guestTypeQuery = z.enum(['qemu', 'lxc'], { message: 'must be qemu or lxc' }).openapi({ description: '`qemu` for a VM, `lxc` for a container.' });
