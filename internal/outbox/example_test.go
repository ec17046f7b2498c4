package outbox_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/laned/laned/internal/outbox"
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

	// The lane: commit first, then carry on.
	m, err := ob.Enqueue(ctx, outbox.KindSummary, []byte(`{"vehicle":"v1"}`))
	if err != nil {
		log.Print(err) // counted in Stats; the lane keeps working
	}
	fmt.Println("committed seq", m.Seq)

	// The publisher: send what is pending, delete on PUBACK.
	<-ob.Notify()
	pending, _ := ob.PendingAfter(0, 100)
	for _, p := range pending {
		fmt.Printf("publish %d %s %s\n", p.Seq, p.Kind, p.Payload)
		ob.Ack(p.Seq) // on PUBACK
	}
	fmt.Println("waiting", ob.Stats().Count)
	// Output:
	// committed seq 1
	// publish 1 transaction {"vehicle":"v1"}
	// waiting 0
}
