#!/usr/bin/env node
// The `sluice` command. Node ≥ 22.18 runs the TypeScript sources directly (type stripping).

// kafkajs 2.2.4 schedules a timer with a negative delay on every connection (tulios/kafkajs#1751);
// Node 24 then prints a TimeoutNegativeWarning although the delay is clamped to 1 ms as before.
// That one warning is dropped; every other warning is printed as usual.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'TimeoutNegativeWarning') return;
  process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

await import('../src/main.ts');
