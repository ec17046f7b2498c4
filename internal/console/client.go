package console

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// Client is a connection to the console socket: what 'laned ctl' and the
// interactive 'laned console' use.
type Client struct {
	conn  net.Conn
	sc    *bufio.Scanner
	enc   *frameWriter
	Hello Hello
}

// ErrClosed is returned when the server ended the session; the error's
// text carries the server's reason (idle logout, shutdown, refusal).
var ErrClosed = errors.New("console session ended")

// Dial connects to the console socket and reads the server's hello.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("console socket %s: %w (is laned running, and are you in its console group?)", path, err)
	}
	cl := &Client{conn: c, sc: bufio.NewScanner(c), enc: &frameWriter{w: c}}
	cl.sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	f, err := cl.next()
	if err != nil {
		c.Close()
		return nil, err
	}
	if f.Hello == nil {
		c.Close()
		return nil, fmt.Errorf("console socket %s: unexpected first frame", path)
	}
	cl.Hello = *f.Hello
	return cl, nil
}

func (c *Client) next() (Frame, error) {
	if !c.sc.Scan() {
		if err := c.sc.Err(); err != nil {
			return Frame{}, err
		}
		return Frame{}, fmt.Errorf("%w: connection closed", ErrClosed)
	}
	var f Frame
	if err := json.Unmarshal(c.sc.Bytes(), &f); err != nil {
		return Frame{}, fmt.Errorf("console: bad frame from server: %w", err)
	}
	if f.Bye != "" {
		return Frame{}, fmt.Errorf("%w: %s", ErrClosed, f.Bye)
	}
	return f, nil
}

// Exec runs one line. Text goes to w; files go to file (nil: refused with
// a note on w). Cancelling ctx interrupts the command; Exec still waits for
// the server's done frame.
func (c *Client) Exec(ctx context.Context, line string, w io.Writer, file func(File) error) (Done, error) {
	if err := c.enc.send(Frame{Line: line}); err != nil {
		if _, rerr := c.next(); errors.Is(rerr, ErrClosed) {
			return Done{}, rerr // the server's reason (idle logout, shutdown)
		}
		return Done{}, err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			c.enc.send(Frame{Cancel: true})
		case <-stop:
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for {
		f, err := c.next()
		if err != nil {
			return Done{}, err
		}
		switch {
		case f.Out != "":
			if _, err := io.WriteString(w, f.Out); err != nil {
				return Done{}, err
			}
		case f.File != nil:
			if file == nil {
				fmt.Fprintf(w, "(file %s not saved)\n", f.File.Name)
				continue
			}
			if err := file(*f.File); err != nil {
				fmt.Fprintf(w, "error: %v\n", err)
			}
		case f.Done != nil:
			return *f.Done, nil
		}
	}
}

// Close ends the session.
func (c *Client) Close() error { return c.conn.Close() }
