package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/summary"
)

func ExampleOutbox() {
	dir, _ := os.MkdirTemp("", "outbox")
	defer os.RemoveAll(dir)
	ob, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{
		Limits: outbox.Limits{MaxBytes: 64 << 20},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer ob.Close()
	ctx := context.Background()

	// The lane: commit first, then carry on. Only payloads that pass
	// their JSON Schema are stored (outbox.SummarySchemas).
	ev, _ := summary.Marshal(&summary.Event{
		Header: summary.Header{SchemaVersion: summary.SchemaVersion, Kind: summary.KindEvent},
		Site:   "north", Lane: "L2", At: time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC),
		Category: "audit", Severity: "info", Code: "console.login", Message: "technician logged in",
	})
	if _, err := ob.Enqueue(ctx, outbox.KindEvent, []byte(`{"vehicle":"v1"}`)); err != nil {
		fmt.Println("refused:", errors.Is(err, outbox.ErrInvalid))
	}
	m, err := ob.Enqueue(ctx, outbox.KindEvent, ev)
	if err != nil {
		log.Print(err) // counted in Stats; the lane keeps working
	}
	fmt.Println("committed seq", m.Seq)

	// The publisher: send what is pending, delete on PUBACK.
	<-ob.Notify()
	pending, _ := ob.PendingAfter(0, 100)
	for _, p := range pending {
		fmt.Printf("publish %d %s %d bytes\n", p.Seq, p.Kind, len(p.Payload))
		ob.Ack(p.Seq) // on PUBACK
	}
	fmt.Println("waiting", ob.Stats().Count)
	// Output:
	// refused: true
	// committed seq 1
	// publish 1 event 183 bytes
	// waiting 0
}
