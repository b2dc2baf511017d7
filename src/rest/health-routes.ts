// GET /api/v1/health/summary, /health/metrics, /health/alerts: health from Prometheus and Alertmanager.
import { railingRouter } from './router';

export const clusterHealthRoutes = railingRouter();
