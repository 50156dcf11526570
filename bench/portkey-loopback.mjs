// Bench-only preload for the Portkey peer: Portkey's server calls listen(port) with no host, i.e. on every
// interface. This forces 127.0.0.1 so the comparison, like everything else in bench/, stays on loopback.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  const [first] = args;
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (typeof args[1] === 'function' || args.length === 1) args.splice(1, 0, '127.0.0.1');
    else if (args[1] === undefined || args[1] === null || args[1] === '0.0.0.0' || args[1] === '::')
      args[1] = '127.0.0.1';
  } else if (
    first !== null &&
    typeof first === 'object' &&
    !('path' in first) &&
    !('fd' in first) &&
    !('_handle' in first)
  ) {
    args[0] = { ...first, host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};
