// Cron: rotate the signing key when PHOBOS_ASYMMETRIC_SIGNING_KEY_ROTATION_PERIOD_DAYS have passed,
// and decommission rotated keys whose decommission period is over.
import { databaseFor } from '../../runtime';
import type { ScheduledTask } from '../../scheduled/tasks';
import { signingFor } from '.';

export const signingKeyRotationTask: ScheduledTask = {
  name: 'signing-key-rotation',
  async run({ config, logger, now }) {
    if (!config.database.host) return;
    const { keys } = signingFor(config, databaseFor(config));
    const rotation = await keys.rotateIfDue(now);
    const decommissioned = await keys.decommissionExpired(now);
    if (rotation === 'rotated' || decommissioned > 0) logger.info('signing keys', { rotation, decommissioned });
  },
};
