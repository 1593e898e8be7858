// Preloaded (node -r) into a cni-migrate run: kill the process with SIGKILL right before its
// CRASH_ON_RENAME-th fs.renameSync, as a power cut or an OOM kill would, mid-switch.
'use strict';
const fs = require('fs');

const at = Number(process.env.CRASH_ON_RENAME);
let calls = 0;
const rename = fs.renameSync;
fs.renameSync = function renameSync(...args) {
  calls += 1;
  if (calls === at) process.kill(process.pid, 'SIGKILL');
  return rename.apply(this, args);
};
