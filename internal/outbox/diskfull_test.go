package outbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	berrors "go.etcd.io/bbolt/errors"
)

// diskFullCase drives an outbox into storage failures and back out.
// fill makes the storage full, free gives space back.
func diskFullCase(t *testing.T, f *fixture, fill, free func(), wantErr error) {
	ctx := context.Background()
	var durable []uint64
	for range 20 {
		durable = append(durable, f.enqueue(KindSummary, string(summaryPayload)).Seq)
	}
	fill()
	// Keep enqueueing: the lane does not stop. Free pages inside the file
	// may take a few more records before the file has to grow.
	var failures int
	var lastErr error
	for i := 0; i < 2000 && failures < 5; i++ {
		k := allKinds[i%3]
		m, err := f.ob.Enqueue(ctx, k, summaryPayload)
		if err == nil {
			durable = append(durable, m.Seq)
			continue
		}
		failures++
		lastErr = err
	}
	if failures == 0 {
		t.Fatal("storage never filled up")
	}
	if !errors.Is(lastErr, ErrStorage) || !errors.Is(lastErr, wantErr) || !strings.Contains(lastErr.Error(), f.path) {
		t.Fatalf("error %v: want ErrStorage wrapping %v and naming the file", lastErr, wantErr)
	}
	s := f.ob.Stats()
	var unstored uint64
	for _, k := range allKinds {
		unstored += s.Classes[k].Unstored
	}
	if s.StoreErrors < uint64(failures) || unstored != uint64(failures) {
		t.Fatalf("failures %d, stats: store errors %d, unstored %d", failures, s.StoreErrors, unstored)
	}
	if !strings.Contains(f.logs.String(), "outbox could not store a batch") {
		t.Fatal("storage failure not logged")
	}
	// What was committed is intact and readable while the disk is full.
	if got := f.pendingSeqs(); !slices.Equal(got, durable) {
		t.Fatalf("pending while full: %d records, want %d", len(got), len(durable))
	}
	if err := f.ob.Check(); err != nil {
		t.Fatalf("check while full: %v", err)
	}

	free()
	m, err := f.ob.Enqueue(ctx, KindSummary, summaryPayload)
	if err != nil {
		t.Fatalf("no recovery after space returned: %v", err)
	}
	durable = append(durable, m.Seq)
	if want := durable[len(durable)-2] + 1; m.Seq != want {
		t.Fatalf("seq after recovery %d, want %d (failed batches use no seq)", m.Seq, want)
	}
	f.reopen()
	if got := f.pendingSeqs(); !slices.Equal(got, durable) {
		t.Fatalf("pending after reopen: %v, want %v", got, durable)
	}
	if err := f.ob.Check(); err != nil {
		t.Fatalf("check after reopen: %v", err)
	}
	t.Logf("%d records stored, %d refused by the full storage (%v), recovered", len(durable), failures, lastErr)
}

// mountTmpfs mounts a small tmpfs (needs root for mount(2)) or skips.
func mountTmpfs(t *testing.T, size string) string {
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (%v); TestDiskFullMaxSize covers the same path", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fillFS writes path until the file system is full.
func fillFS(t *testing.T, path string) {
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := fh.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// tmpfsFixture is a fixture whose outbox lives on a fresh small tmpfs.
func tmpfsFixture(t *testing.T, size string) (*fixture, string) {
	dir := mountTmpfs(t, size)
	f := newFixture(t, nil)
	f.ob.Close()
	f.ob = nil
	f.path = filepath.Join(dir, "outbox.db")
	f.reopen()
	t.Cleanup(func() { f.ob.Close(); f.ob = nil }) // before the unmount
	return f, dir
}

// TestDiskFullTmpfs fills a real (small tmpfs) file system: the commit
// fails with ENOSPC. Needs root; skipped otherwise.
func TestDiskFullTmpfs(t *testing.T) {
	f, dir := tmpfsFixture(t, "2m")
	filler := filepath.Join(dir, "filler")
	free := func() {
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
	}
	diskFullCase(t, f, func() { fillFS(t, filler) }, free, syscall.ENOSPC)
}

// TestDiskFullConcurrent: producers keep enqueueing while the file system
// fills up and frees again; every Enqueue either returned a durable seq or
// a storage error, and the durable ones are all there after reopening.
func TestDiskFullConcurrent(t *testing.T) {
	f, dir := tmpfsFixture(t, "4m")
	filler := filepath.Join(dir, "filler")
	var mu sync.Mutex
	var durable []uint64
	var failures int
	phase := make(chan struct{})
	var wg sync.WaitGroup
	produce := func(until <-chan struct{}) {
		for i := 0; ; i++ {
			select {
			case <-until:
				return
			default:
			}
			m, err := f.ob.Enqueue(context.Background(), allKinds[i%3], summaryPayload)
			mu.Lock()
			if err == nil {
				durable = append(durable, m.Seq)
			} else if errors.Is(err, ErrStorage) && errors.Is(err, syscall.ENOSPC) {
				failures++
			} else {
				t.Errorf("enqueue: %v", err)
			}
			mu.Unlock()
		}
	}
	for range 8 {
		wg.Go(func() { produce(phase) })
	}
	waitFor(t, func() bool { return f.ob.Stats().Records > 50 })
	fillFS(t, filler)
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return failures > 20 })
	mu.Lock()
	before := len(durable)
	mu.Unlock()
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(durable) > before+50 })
	close(phase)
	wg.Wait()

	f.reopen()
	got := f.pendingSeqs()
	slices.Sort(durable)
	if !slices.Equal(got, durable) {
		t.Fatalf("after reopen %d pending, %d reported durable", len(got), len(durable))
	}
	if err := f.ob.Check(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d durable, %d refused with ENOSPC while full, all durable present after reopen", len(durable), failures)
}

// TestDiskFullMaxSize caps the bbolt file (bbolt's MaxSize) so a commit
// fails when the file must grow, like a full disk; it runs without
// privileges. Space returns by lifting the cap.
func TestDiskFullMaxSize(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.maxFileSize = 1 << 20 })
	lift := func() {
		// Set from inside the committer, the only goroutine that reads it.
		err := f.ob.submit(context.Background(), &op{apply: func(b *batch) error { b.o.db.MaxSize = 0; return nil }})
		if err != nil {
			t.Fatal(err)
		}
		f.opts.maxFileSize = 0
	}
	diskFullCase(t, f, func() {}, lift, berrors.ErrMaxSizeReached)
}

// TestDiskFullAckFreesSpace: with the file at its cap, acknowledging
// messages frees pages that new records reuse.
func TestDiskFullAckFreesSpace(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.maxFileSize = 1 << 20 })
	ctx := context.Background()
	n := 0
	for ; n < 5000; n++ {
		if _, err := f.ob.Enqueue(ctx, KindSummary, summaryPayload); err != nil {
			if !errors.Is(err, berrors.ErrMaxSizeReached) {
				t.Fatal(err)
			}
			break
		}
	}
	if n == 5000 {
		t.Fatal("1 MiB file never full")
	}
	msgs, err := f.ob.Pending(n / 2)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, m := range msgs {
		seqs = append(seqs, m.Seq)
	}
	if err := f.ob.Ack(seqs...); err != nil {
		t.Fatal(err)
	}
	for range n / 4 {
		if _, err := f.ob.Enqueue(ctx, KindSummary, summaryPayload); err != nil {
			t.Fatalf("enqueue after acking %d of %d: %v", len(seqs), n, err)
		}
	}
	if err := f.ob.Check(); err != nil {
		t.Fatal(err)
	}
}
