// The dispatcher for a type and its data (Phobos's `JOB_DISPATCHER_TYPE` and `JOB_DISPATCHER_DATA_*`).
import { type Dispatcher, type DispatcherData, DispatcherConfigError, parseByteSize } from './dispatcher';
import { DockerDispatcher } from './docker';
import { EcsDispatcher } from './ecs';
import { KubernetesDispatcher } from './kubernetes';
import { LocalDispatcher } from './local';

const dispatcherTypes = ['local', 'docker', 'kubernetes', 'ecs'] as const;

export function createDispatcher(type: string, data: DispatcherData): Dispatcher {
  switch (type) {
    case 'local':
      return new LocalDispatcher();
    case 'docker':
      return new DockerDispatcher(data);
    case 'kubernetes':
      return new KubernetesDispatcher(data);
    case 'ecs':
      return new EcsDispatcher(data);
    default:
      throw new DispatcherConfigError(`dispatcher type must be one of ${dispatcherTypes.join(', ')}, not "${type}"`);
  }
}

/** MEMORY_LIMIT for the executor: the dispatcher's memory_limit in bytes, when it has one. */
export function memoryLimitOf(data: DispatcherData): number | undefined {
  return data.memory_limit ? parseByteSize(data.memory_limit, 'memory_limit') : undefined;
}
