// Loaded before every spec (.mocharc.json): the package's own process warnings, which many specs provoke on purpose
// (a store down, a hook that throws), are not printed, so the test output shows only what went wrong. Specs still
// receive them through process.on('warning'); every other warning is printed as Node would.
const printers = process.listeners('warning')
process.removeAllListeners('warning')
process.on('warning', (warning) => {
  if ('code' in warning && warning.code === 'EXPRESS_PARTNER_WEBHOOKS') return
  for (const print of printers) print(warning)
})
