package mqtt

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/store"
)

// The client of TestKilledClient runs as a child process: this test
// binary again, with killChildEnv set, which TestMain sends here.
const killChildEnv = "TERN_KILL_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(killChildEnv) != "" {
		os.Exit(killChild())
	}
	os.Exit(m.Run())
}

// TestKilledClient kills a client process with SIGKILL at random
// moments of two streams of QoS 1 or QoS 2 messages, one it publishes and
// one it receives, and restarts it on the same file store each time.
//
// Outbound: every message it reported accepted (PublishAsync returned)
// arrives, QoS 2 ones exactly once, first arrivals in order. A message
// stored in the instant between its acceptance and the report is sent as
// well; it counts as an extra, not a loss or a duplicate (its payload
// carries the run it was accepted in).
//
// Inbound: every message the broker acknowledged arrives at the client, in
// order. A QoS 2 message arrives once, except one whose handler returned
// in the instant before the kill, before its PUBREC was recorded (see
// Config.Store): with the client's Receive Maximum at 1, at most one per
// kill, and the test allows no more.
func TestKilledClient(t *testing.T) {
	b := brokertest.Mosquitto(t)
	for _, qos := range []QoS{QoS1, QoS2} {
		t.Run(fmt.Sprintf("qos%d", qos), func(t *testing.T) {
			killedClient(t, b, qos)
		})
	}
}

func killedClient(t *testing.T, b *brokertest.Broker, qos QoS) {
	const kills, final = 5, 200
	topic := fmt.Sprintf("killed/%d/%d", qos, time.Now().UnixNano())
	in := newInbox()
	sub := dial(t, Config{Broker: b.URL, ClientID: "killsub-" + topic, Persistent: true, SessionExpiry: time.Hour})
	if _, err := sub.Subscribe(ctxT(t), in.handler, Subscription{Filter: topic, QoS: qos}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	accepted := map[string]bool{}
	next := 0
	// The child's session exists before its first run, subscribed to the
	// inbound stream, which a publisher here sends until the last run.
	childID := "killpub-" + topic
	inTopic := topic + "/in"
	pre := dial(t, Config{Broker: b.URL, ClientID: childID, Persistent: true, SessionExpiry: time.Hour})
	if _, err := pre.Subscribe(ctxT(t), func(*Message) {}, Subscription{Filter: inTopic, QoS: qos}); err != nil {
		t.Fatal(err)
	}
	pre.Close()
	inPub := dial(t, Config{Broker: b.URL})
	stopIn, inDone := make(chan struct{}), make(chan int)
	go func() {
		i := 0
		for {
			select {
			case <-stopIn:
				inDone <- i
				return
			default:
			}
			if err := inPub.Publish(ctxT(t), &Message{Topic: inTopic, QoS: qos, Payload: []byte(strconv.Itoa(i))}); err != nil {
				t.Errorf("inbound publish %d: %v", i, err)
				inDone <- i
				return
			}
			i++
			time.Sleep(time.Millisecond)
		}
	}()
	got, gotLast, gotOrder, inTotal := map[int]int{}, -1, 0, -1
	for run := 0; run <= kills; run++ {
		count := 0
		if run == kills {
			count = final // the last run ends by itself once all are acknowledged
		}
		if run == kills {
			close(stopIn)
			inTotal = <-inDone
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), killChildEnv+"=1", "TERN_BROKER="+b.URL, "TERN_STORE="+dir, "TERN_TOPIC="+topic,
			"TERN_QOS="+strconv.Itoa(int(qos)), "TERN_RUN="+strconv.Itoa(run), "TERN_START="+strconv.Itoa(next),
			"TERN_COUNT="+strconv.Itoa(count), "TERN_ID="+childID)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAt := 20 + rand.IntN(200)
		lines, n, published := bufio.NewScanner(out), 0, false
		// The last run ends when it has published its messages and
		// received the whole inbound stream: then its stdin closes.
		done := func() bool { return published && len(got) == inTotal }
		for lines.Scan() {
			if v, ok := strings.CutPrefix(lines.Text(), "got "); ok {
				i, err := strconv.Atoi(v)
				if err != nil {
					continue // a line cut by the kill
				}
				if got[i]++; got[i] == 1 {
					if i < gotLast {
						gotOrder++
					}
					gotLast = i
				}
			}
			if lines.Text() == "published" {
				published = true
			}
			if run == kills && done() && stdin != nil {
				stdin.Close()
				stdin = nil
			}
			payload, ok := strings.CutPrefix(lines.Text(), "accepted ")
			if !ok {
				continue
			}
			accepted[payload] = true
			i, _ := strconv.Atoi(strings.SplitN(payload, "/", 2)[1])
			next = i + 1
			if n++; run < kills && n == killAt {
				cmd.Process.Kill() // SIGKILL
			}
		}
		err = cmd.Wait()
		if run < kills && err == nil {
			t.Fatalf("run %d ended before it was killed", run)
		}
		if run == kills && err != nil {
			t.Fatalf("last run: %v", err)
		}
	}
	// Every accepted message arrives; QoS 2 ones once.
	seen := map[string]int{}
	last, received, dups, extras := -1, 0, 0, 0
	for missing := len(accepted); missing > 0; {
		m := in.next(t)
		p := string(m.Payload)
		received++
		if seen[p]++; seen[p] > 1 {
			dups++
			continue
		}
		if accepted[p] {
			missing--
		} else {
			extras++
		}
		i, _ := strconv.Atoi(strings.SplitN(p, "/", 2)[1])
		if i < last {
			t.Errorf("message %s arrived after number %d", p, last)
		}
		last = i
	}
	for quiet := time.After(300 * time.Millisecond); ; {
		select {
		case m := <-in:
			received++
			if seen[string(m.Payload)]++; seen[string(m.Payload)] > 1 {
				dups++
			} else {
				extras++
			}
			continue
		case <-quiet:
		}
		break
	}
	lost := 0
	for p := range accepted {
		if seen[p] == 0 {
			lost++
		}
	}
	t.Logf("%d kills: accepted %d, received %d, duplicates %d, extras (stored, killed before reporting) %d, lost %d",
		kills, len(accepted), received, dups, extras, lost)
	if lost != 0 {
		t.Errorf("%d accepted messages lost", lost)
	}
	if qos == QoS2 && dups != 0 {
		t.Errorf("%d QoS 2 messages delivered twice", dups)
	}

	inLost, inDups := 0, 0
	for i := range inTotal {
		switch n := got[i]; {
		case n == 0:
			inLost++
		case n > 1:
			inDups += n - 1
		}
	}
	t.Logf("inbound: acknowledged by the broker %d, received %d, duplicates %d, out of order %d, lost %d",
		inTotal, len(got)+inDups, inDups, gotOrder, inLost)
	if inLost != 0 || gotOrder != 0 {
		t.Errorf("inbound: %d lost, %d out of order", inLost, gotOrder)
	}
	if qos == QoS2 && inDups > kills {
		t.Errorf("inbound: %d QoS 2 duplicates, more than one per kill", inDups)
	}
}

// killChild is the publisher process: it publishes numbered messages from
// TERN_START, writing "accepted run/number" once PublishAsync returns,
// until killed, or TERN_COUNT of them, all acknowledged.
func killChild() int {
	env := func(k string) int { n, _ := strconv.Atoi(os.Getenv(k)); return n }
	st, err := store.Open(os.Getenv("TERN_STORE"), store.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var mu sync.Mutex // guards w
	w := bufio.NewWriter(os.Stdout)
	println := func(a ...any) {
		mu.Lock()
		fmt.Fprintln(w, a...)
		w.Flush()
		mu.Unlock()
	}
	c, err := Dial(ctx, Config{Broker: os.Getenv("TERN_BROKER"), Version: packet.V5, ClientID: os.Getenv("TERN_ID"),
		Persistent: true, SessionExpiry: time.Hour, Reconnect: true, Store: st, MaxInflight: 20, ReceiveMaximum: 1,
		DefaultHandler: func(m *Message) { println("got", string(m.Payload)) }})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	defer c.Close()
	topic, qos, run, count := os.Getenv("TERN_TOPIC"), QoS(env("TERN_QOS")), env("TERN_RUN"), env("TERN_COUNT")
	var window []*Completion
	for i := env("TERN_START"); count == 0 || i < env("TERN_START")+count; i++ {
		p := fmt.Sprintf("%d/%d", run, i)
		cp := c.PublishAsync(&Message{Topic: topic, QoS: qos, Payload: []byte(p)})
		select {
		case <-cp.Done():
			if err := cp.Err(); err != nil {
				fmt.Fprintln(os.Stderr, "child: publish:", err)
				return 2
			}
		default:
		}
		println("accepted", p)
		// Keep at most 50 unacknowledged, so that the queue stays small.
		if window = append(window, cp); len(window) > 50 {
			if err := window[0].Wait(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "child: publish:", err)
				return 2
			}
			window = window[1:]
		}
	}
	for _, cp := range window {
		if err := cp.Wait(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "child: publish:", err)
			return 2
		}
	}
	println("published")
	io.Copy(io.Discard, os.Stdin) // until the test has seen all it waits for
	if err := c.Disconnect(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child: disconnect:", err)
		return 2
	}
	return 0
}
