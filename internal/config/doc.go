// Package config is laned's configuration: one YAML file composing the
// sections of the packages that make up the daemon.
//
//	site: north-crossing      # the lane's identity, top level
//	lane: L2
//	state_dir: /var/lib/laned
//	uplink:   {...}           # package uplink's Config
//	outbox:   {...}
//	gallery:  {...}           # store, trust keys, nightly sync
//	health:   {...}
//	events:   {...}
//	localapi: {...}
//	vision:   {...}
//
// Parsing is strict: an unknown key is an error naming its full path
// ("uplink.tls.cafile: unknown key (line 12)"), and so is a value of the
// wrong type. Defaults are filled field by field (WithDefaults), so setting
// one threshold never zeroes its neighbours. Validate is pure: it reads no
// file and opens nothing; whether the files named exist is `laned check`'s
// business (CheckFiles). Secrets never come from the command line: the
// gallery key and the broker password are files (0600) or systemd
// credentials ($CREDENTIALS_DIRECTORY/NAME).
//
// Adding a section (cameras, sensors, lane, metrics) is one field of Config
// with a yaml tag, a type with WithDefaults() and Validate(), one line in
// Config.WithDefaults and Config.Validate, and comments for its keys in
// example.go (TestExampleFullyCommented fails without them).
package config
