package console

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Record is one audit line: who did what, when, through which transport,
// and how it ended. Command never holds free text typed by the user that
// did not parse as a command (it may be a password typed at the prompt).
type Record struct {
	At        time.Time
	User      string
	Role      Role
	Transport string
	Action    string // command, login, logout, lockout, connect
	Command   string // canonical command and arguments, for Action "command"
	Result    string // ok, error, denied, unknown, failed, locked, idle, …
	Detail    string // error text, delay, failure count
	Duration  time.Duration
}

// Auditor receives every audit record. Implementations must not block for
// long: the console waits for Audit to return before it answers.
type Auditor interface {
	Audit(Record)
}

// SlogAuditor writes audit records to a logger (the journal under systemd).
type SlogAuditor struct{ Log *slog.Logger }

// Audit implements Auditor.
func (a SlogAuditor) Audit(r Record) {
	attrs := []any{
		"audit", r.Action,
		"user", r.User,
		"role", r.Role.String(),
		"transport", r.Transport,
		"result", r.Result,
	}
	if r.Command != "" {
		attrs = append(attrs, "command", r.Command)
	}
	if r.Detail != "" {
		attrs = append(attrs, "detail", r.Detail)
	}
	if r.Duration > 0 {
		attrs = append(attrs, "duration", r.Duration.Round(time.Millisecond))
	}
	level := slog.LevelInfo
	switch r.Result {
	case "denied", "failed", "locked":
		level = slog.LevelWarn
	}
	a.Log.Log(context.Background(), level, "console "+r.Action, attrs...)
}

// MultiAuditor fans a record out to several auditors (journal and events).
type MultiAuditor []Auditor

// Audit implements Auditor.
func (m MultiAuditor) Audit(r Record) {
	for _, a := range m {
		a.Audit(r)
	}
}

// MemoryAuditor keeps records in memory; tests and the console's own
// "events" fallback use it.
type MemoryAuditor struct {
	mu      sync.Mutex
	records []Record
}

// Audit implements Auditor.
func (m *MemoryAuditor) Audit(r Record) {
	m.mu.Lock()
	m.records = append(m.records, r)
	m.mu.Unlock()
}

// Records returns a copy of what was audited so far.
func (m *MemoryAuditor) Records() []Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Record(nil), m.records...)
}
