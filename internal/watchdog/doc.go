// Package watchdog tells systemd that laned is ready and alive (sd_notify
// READY, STATUS, STOPPING and WATCHDOG through github.com/coreos/go-systemd).
//
// The watchdog pings only while every registered component shows progress:
// the lane's main loop calls Heartbeat.Beat on each turn (it must turn at
// least every second or so, car or no car). A loop stuck in a camera read
// or an inference call stops beating, the pings stop, and systemd kills and
// restarts the service after WatchdogSec. A ticker that pinged on its own
// would keep a hung daemon alive; that is the failure this package exists
// to avoid.
//
// Lifecycle: New validates, Run(ctx) pings until ctx is cancelled and
// returns nil, Close is idempotent. Time comes from a clock.Clock.
package watchdog
