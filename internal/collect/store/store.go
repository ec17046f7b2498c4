package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Engine names a database engine.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// DSN is a parsed --db argument.
type DSN struct {
	Engine Engine
	// Path is the SQLite file; Conn the PostgreSQL connection string.
	Path, Conn string
}

// ParseDSN reads a --db argument: postgres://… or postgresql://… (a
// PostgreSQL URL, passed to pgx as is), sqlite:PATH or sqlite://PATH, or a
// plain file path (SQLite).
func ParseDSN(s string) (DSN, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return DSN{}, errors.New("store: empty --db (want a file path, sqlite:PATH or postgres://…)")
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		u, err := url.Parse(s)
		if err != nil {
			return DSN{}, fmt.Errorf("store: --db %q: %w", redact(s), err)
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return DSN{}, fmt.Errorf("store: --db %q: no host", redact(s))
		}
		return DSN{Engine: Postgres, Conn: s}, nil
	case strings.HasPrefix(s, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(s, "sqlite:"), "//")
		if p == "" {
			return DSN{}, fmt.Errorf("store: --db %q: no file path", s)
		}
		s = p
	case strings.Contains(s, "://"):
		return DSN{}, fmt.Errorf("store: --db %q: unknown scheme (want postgres:// or sqlite:)", redact(s))
	}
	if strings.ContainsAny(s, "?#\x00") {
		return DSN{}, fmt.Errorf("store: --db %q: a SQLite path may not contain ?, # or NUL", s)
	}
	return DSN{Engine: SQLite, Path: s}, nil
}

// String is the DSN with any password hidden.
func (d DSN) String() string {
	if d.Engine == Postgres {
		return redact(d.Conn)
	}
	return "sqlite:" + d.Path
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// DB is an open store.
type DB struct {
	db     *sql.DB
	engine Engine
	dsn    DSN
	closed bool
}

// Open opens (creating an SQLite file if needed) and migrates the store.
func Open(ctx context.Context, dsn string) (*DB, error) {
	d, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	return OpenDSN(ctx, d)
}

// OpenDSN is Open with a parsed DSN.
func OpenDSN(ctx context.Context, d DSN) (*DB, error) { return openDSN(ctx, d, true) }

// OpenQuery opens an existing store for the office's query tools without
// migrating it (it may be a PostgreSQL read replica): the schema must be
// the one this binary knows.
func OpenQuery(ctx context.Context, d DSN) (*DB, error) {
	s, err := openDSN(ctx, d, false)
	if err != nil {
		return nil, err
	}
	ms, err := Migrations()
	if err != nil {
		s.Close()
		return nil, err
	}
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: %s is not a laned collect database: %w", d, err)
	}
	if int(v.Int64) != len(ms) {
		s.Close()
		return nil, fmt.Errorf("store: %s has schema version %d, this laned knows %d (run laned collect of the same version once)", d, v.Int64, len(ms))
	}
	return s, nil
}

func openDSN(ctx context.Context, d DSN, migrate bool) (*DB, error) {
	var db *sql.DB
	var err error
	switch d.Engine {
	case SQLite:
		abs, aerr := filepath.Abs(d.Path)
		if aerr != nil {
			return nil, fmt.Errorf("store: %s: %w", d.Path, aerr)
		}
		// WAL so queries read beside the collector; synchronous FULL
		// because a commit is followed by the broker's PUBACK: it must
		// survive a power cut. BEGIN IMMEDIATE takes the write lock
		// first, so two writers wait (busy_timeout) instead of failing.
		q := "_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
		db, err = sql.Open("sqlite", "file:"+abs+"?"+q)
		if err == nil {
			db.SetMaxOpenConns(4)
		}
	case Postgres:
		db, err = sql.Open("pgx", d.Conn)
		if err == nil {
			db.SetMaxOpenConns(8)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	default:
		return nil, fmt.Errorf("store: unknown engine %q", d.Engine)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", d, err)
	}
	s := &DB{db: db, engine: d.Engine, dsn: d}
	if !migrate {
		return s, nil
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Engine reports which engine the store runs on.
func (s *DB) Engine() Engine { return s.engine }

// Close closes the store; it is idempotent.
func (s *DB) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	return s.db.Close()
}

// Ping checks the database is reachable.
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// q rewrites ? placeholders to PostgreSQL's $n.
func (s *DB) q(query string) string {
	if s.engine != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// Migration is one schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the embedded migrations in order.
func Migrations() ([]Migration, error) {
	ents, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range ents {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration file %q is not NNNN_name.sql", name)
		}
		b, err := migrations.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: rest, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := range ms {
		if ms[i].Version != i+1 {
			return nil, fmt.Errorf("store: migrations are not numbered 1..n: %d at position %d", ms[i].Version, i+1)
		}
	}
	return ms, nil
}

// statements splits a migration into statements (no semicolons inside
// literals in our migrations; comments are dropped).
func statements(src string) []string {
	var lines []string
	for _, l := range strings.Split(src, "\n") {
		if i := strings.Index(l, "--"); i >= 0 {
			l = l[:i]
		}
		lines = append(lines, l)
	}
	var out []string
	for _, st := range strings.Split(strings.Join(lines, "\n"), ";") {
		if st = strings.TrimSpace(st); st != "" {
			out = append(out, st)
		}
	}
	return out
}

func (s *DB) migrate(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate %s: %w", s.dsn, err)
	}
	for _, m := range ms {
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("store: migration %04d_%s on %s: %w", m.Version, m.Name, s.dsn, err)
		}
	}
	return nil
}

// apply runs one migration in its own transaction unless it is recorded.
// With PostgreSQL an advisory lock serialises collectors starting at once.
func (s *DB) apply(ctx context.Context, m Migration) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if s.engine == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7305118)`); err != nil {
			return err
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	for _, st := range statements(m.SQL) {
		if _, err := tx.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("%w\nin: %s", err, st)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`), m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}

func us(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromUS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
