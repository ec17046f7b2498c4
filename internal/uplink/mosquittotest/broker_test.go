package mosquittotest

import (
	"net"
	"strconv"
	"testing"
	"time"
)

func TestBrokerLifecycle(t *testing.T) {
	b := Start(t, Options{TLS: true, Persistence: true, Users: map[string]string{"lane": "s3cret"}})
	for _, p := range []int{b.Port, b.TLSPort, b.ExpiredPort, b.WrongHostPort} {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), time.Second)
		if err != nil {
			t.Fatalf("port %d: %v\n%s", p, err, b.LogTail())
		}
		c.Close()
	}
	b.Kill()
	if _, err := net.DialTimeout("tcp", b.Addr(), time.Second); err == nil {
		t.Fatal("killed broker still accepts")
	}
	b.Restart()
	p := NewProxy(t, b.Addr())
	c, err := net.Dial("tcp", p.URL()[len("tcp://"):])
	if err != nil {
		t.Fatal(err)
	}
	p.Cut()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("cut link still open")
	}
	b.Stop()
	if b.Running() {
		t.Fatal("running after Stop")
	}
}
