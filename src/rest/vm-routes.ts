// GET /api/v1/ve/vms, /ve/vms/:node/:vmid/status; POST …/start|stop|reboot: VMs and containers.
import { railingRouter } from './router';

export const vmRoutes = railingRouter();
