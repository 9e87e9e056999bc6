package share

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
)

// childCount is how many messages a publisher child sends at each QoS.
const childCount = 30

// childPublisher, a secondary in a process of its own, connects to the
// primary at path, prints "ready", publishes childCount messages at each
// QoS on prefix/QOS with payload prefix/QOS/I, and prints "done".
func childPublisher(path, prefix string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Dial(ctx, path, "", mqtt.Config{})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer s.Disconnect(ctx)
	fmt.Println("ready")
	for i := 0; i < childCount; i++ {
		for qos := mqtt.QoS(0); qos <= 2; qos++ {
			t := fmt.Sprintf("%s/%d", prefix, qos)
			if err := s.Publish(ctx, &mqtt.Message{Topic: t, Payload: []byte(fmt.Sprintf("%s/%d", t, i)), QoS: qos}); err != nil {
				fmt.Println("error:", err)
				return 1
			}
		}
	}
	fmt.Println("done")
	return 0
}

// childPrimary, a primary in a process of its own, connects to the broker
// at url, serves the connection on path, prints "ready", and runs until
// it is killed.
func childPrimary(path, url string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	up, err := mqtt.Dial(ctx, mqtt.Config{Broker: url, Reconnect: true, Backoff: fastBackoff})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	srv, err := NewServer(Options{}, map[string]*mqtt.Client{"main": up})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	if err := srv.Listen(path); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready")
	time.Sleep(2 * time.Minute)
	return 0
}

// childAgent, a secondary in a process of its own, connects to the
// primary at path and prints "ready"; then it obeys the commands it reads
// on its standard input, one a line, until it is closed:
//
//	sub FILTER    subscribe at QoS 1; answers "ok sub FILTER CODE"
//	unsub FILTER  unsubscribe; answers "ok unsub FILTER"
//
// (or "error: ..."). It prints "msg TOPIC PAYLOAD" for every message it
// receives and, with events, "event KIND LOST" for every event of the
// primary's upstream connection (LOST: whether Err is ErrConnectionLost).
func childAgent(path string, events bool) int {
	var mu sync.Mutex
	say := func(format string, a ...any) {
		mu.Lock()
		fmt.Printf(format+"\n", a...)
		mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	s, err := Dial(ctx, path, "", mqtt.Config{Backoff: fastBackoff})
	cancel()
	if err != nil {
		say("error: %v", err)
		return 1
	}
	defer s.Close()
	if events {
		s.Notify(func(e mqtt.Event) {
			say("event %s %t", strings.ReplaceAll(e.Kind.String(), " ", "-"), errorsIs(e.Err, mqtt.ErrConnectionLost))
		})
	}
	say("ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			say("error: bad command %q", sc.Text())
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		switch f[0] {
		case "sub":
			res, err := s.Subscribe(ctx, func(m *mqtt.Message) {
				say("msg %s %s", m.Topic, m.Payload)
			}, mqtt.Subscription{Filter: f[1], QoS: 1})
			if err != nil {
				say("error: %v", err)
			} else {
				say("ok sub %s %d", f[1], res[0].Code)
			}
		case "unsub":
			if _, err := s.Unsubscribe(ctx, f[1]); err != nil {
				say("error: %v", err)
			} else {
				say("ok unsub %s", f[1])
			}
		default:
			say("error: bad command %q", sc.Text())
		}
		cancel()
	}
	return 0
}

// agent is a childAgent process.
type agent struct {
	name  string
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines <-chan string
}

// startAgent starts a childAgent process on the primary at path, with
// events if asked, and waits until it is ready. It is killed when the
// test ends.
func startAgent(t *testing.T, name, path string, events bool) *agent {
	t.Helper()
	env := []string{"TERN_SHARE_ROLE=agent"}
	if events {
		env = append(env, "TERN_SHARE_EVENTS=1")
	}
	cmd, in, lines := spawn(t, path, env...)
	return &agent{name: name, cmd: cmd, in: in, lines: lines}
}

// line returns the agent's next output line, failing after d.
func (a *agent) line(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-a.lines:
		if !ok {
			t.Fatalf("%s: exited", a.name)
		}
		return l
	case <-time.After(d):
		t.Fatalf("%s: silent for %v", a.name, d)
		return ""
	}
}

// do sends the agent a command and waits for its answer, which must be
// "ok " and the command; it returns what follows.
func (a *agent) do(t *testing.T, cmd string) string {
	t.Helper()
	if _, err := fmt.Fprintln(a.in, cmd); err != nil {
		t.Fatalf("%s: %v", a.name, err)
	}
	l := a.line(t, 15*time.Second)
	if !strings.HasPrefix(l, "ok "+cmd) {
		t.Fatalf("%s: %q answered %q", a.name, cmd, l)
	}
	return strings.TrimSpace(strings.TrimPrefix(l, "ok "+cmd))
}

// sub subscribes the agent to filter and checks that it was granted QoS 1.
func (a *agent) sub(t *testing.T, filter string) {
	t.Helper()
	if code := a.do(t, "sub "+filter); code != "1" {
		t.Fatalf("%s: subscribe %s: code %s", a.name, filter, code)
	}
}

// kill kills the agent with SIGKILL and waits for it to exit.
func (a *agent) kill() {
	a.cmd.Process.Kill()
	a.cmd.Wait()
}
