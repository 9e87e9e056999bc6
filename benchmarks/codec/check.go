package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"

	paho5 "github.com/eclipse/paho.golang/packets"
	paho3 "github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/topic"
)

// Before timing anything, each side decodes what the other encoded, and the
// decoded packets are compared with what was meant, through a "view": a
// comparable struct holding the fields both codecs know. A disagreement is a
// failure and stops the program.

type pubView struct {
	Topic       string
	QoS         byte
	ID          uint16
	Dup, Retain bool
	Payload     string // length and hash
	Props       string // MQTT 5.0 properties
}

type connView struct {
	Proto              string
	Version            byte
	ClientID           string
	Clean              bool
	KeepAlive          uint16
	User, Pass         string
	Will               bool
	WillTopic, WillMsg string
	WillQoS            byte
	WillRetain         bool
	WillDelay          uint32
	SessionExpiry      uint32
	RecvMax, AliasMax  uint16
	MaxPacket          uint32
	ReqRespInfo        bool
	UserProps          string
}

type subView struct {
	ID      uint16
	Filters string
	Options string
	Props   string // MQTT 5.0 properties
}

// interop is one packet type and version, encoded by both sides.
type interop struct {
	name             string
	ternEnc, pahoEnc []byte
	want             any // the view of the packet as built for tern
	pahoDecode       func([]byte) (any, error)
	ternDecode       func([]byte) (any, error)
}

func interops() []interop {
	var cs []interop
	for _, size := range sizes {
		cs = append(cs,
			interop{"PUBLISH " + sizeName(size) + " 3.1.1", mustAppend(ternPublish(size), packet.V311), paho3Bytes(paho3Publish(size)),
				view(ternPublish(size)), paho3Decode, ternDecoder(packet.V311)},
			interop{"PUBLISH " + sizeName(size) + " 5.0", mustAppend(ternPublish(size), packet.V5), paho5Bytes(paho5Publish(size)),
				view(ternPublish(size)), paho5Decode, ternDecoder(packet.V5)})
	}
	cs = append(cs,
		interop{"CONNECT 3.1.1", mustAppend(ternConnect(packet.V311), packet.V311), paho3Bytes(paho3Connect()),
			connectWant(packet.V311), paho3Decode, ternDecoder(packet.V311)},
		interop{"CONNECT 5.0", mustAppend(ternConnect(packet.V5), packet.V5), paho5Bytes(paho5Connect()),
			connectWant(packet.V5), paho5Decode, ternDecoder(packet.V5)},
		interop{"SUBSCRIBE ×10 3.1.1", mustAppend(ternSubscribe(), packet.V311), paho3Bytes(paho3Subscribe()),
			view(ternSubscribe()), paho3Decode, ternDecoder(packet.V311)},
		interop{"SUBSCRIBE ×10 5.0", mustAppend(ternSubscribe(), packet.V5), paho5Bytes(paho5Subscribe()),
			view(ternSubscribe()), paho5Decode, ternDecoder(packet.V5)},
	)
	return append(cs, extraInterops()...)
}

// checkInterop returns the disagreements found, and notes on which
// encodings are byte for byte identical.
func checkInterop() (failures, notes []string) {
	for _, c := range interops() {
		try := func(what string, dec func([]byte) (any, error), enc []byte) {
			got, err := dec(enc)
			switch {
			case err != nil:
				failures = append(failures, fmt.Sprintf("%s: %s: %v\n    bytes: %s", c.name, what, err, hexDump(enc)))
			case got != c.want:
				failures = append(failures, fmt.Sprintf("%s: %s: got %+v\n    want %+v\n    bytes: %s", c.name, what, got, c.want, hexDump(enc)))
			}
		}
		try("paho decoding tern's encoding", c.pahoDecode, c.ternEnc)
		try("tern decoding paho's encoding", c.ternDecode, c.pahoEnc)
		try("tern decoding its own encoding", c.ternDecode, c.ternEnc)
		if bytes.Equal(c.ternEnc, c.pahoEnc) {
			notes = append(notes, fmt.Sprintf("%s: tern and paho encode the same %d bytes", c.name, len(c.ternEnc)))
		} else {
			notes = append(notes, fmt.Sprintf("%s: encodings differ but decode alike (tern %d bytes, paho %d): tern %s, paho %s",
				c.name, len(c.ternEnc), len(c.pahoEnc), hexDump(c.ternEnc), hexDump(c.pahoEnc)))
		}
	}
	for _, m := range matchPairs {
		if got := topic.Match(m.filter, m.name); got != m.want {
			failures = append(failures, fmt.Sprintf("topic.Match(%q, %q) = %v, want %v", m.filter, m.name, got, m.want))
		}
		if got := splitMatch(m.filter, m.name); got != m.want {
			failures = append(failures, fmt.Sprintf("baseline splitMatch(%q, %q) = %v, want %v", m.filter, m.name, got, m.want))
		}
	}
	return failures, notes
}

func paho3Bytes(p paho3.ControlPacket) []byte {
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func paho5Bytes(p io.WriterTo) []byte {
	var b bytes.Buffer
	if _, err := p.WriteTo(&b); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func paho3Decode(b []byte) (any, error) {
	r := bytes.NewReader(b)
	p, err := paho3.ReadPacket(r)
	if err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%d bytes left over", r.Len())
	}
	return view(p), nil
}

func paho5Decode(b []byte) (any, error) {
	r := bytes.NewReader(b)
	p, err := paho5.ReadPacket(r)
	if err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%d bytes left over", r.Len())
	}
	return view(p.Content), nil
}

// ternDecoder decodes with both of tern's entry points, Reader.ReadPacket
// and Decode, and requires them to agree and to take the whole input.
func ternDecoder(v packet.Version) func([]byte) (any, error) {
	return func(b []byte) (any, error) {
		r := packet.NewReader(bytes.NewReader(b), 0)
		p, err := r.ReadPacket(v)
		if err != nil {
			return nil, fmt.Errorf("ReadPacket: %w", err)
		}
		if _, err := r.ReadPacket(v); err != io.EOF {
			return nil, fmt.Errorf("ReadPacket did not take the whole packet: %v", err)
		}
		q, n, err := packet.Decode(b, v)
		if err != nil {
			return nil, fmt.Errorf("Decode: %w", err)
		}
		if n != len(b) {
			return nil, fmt.Errorf("Decode took %d of %d bytes", n, len(b))
		}
		if view(p) != view(q) {
			return nil, fmt.Errorf("ReadPacket and Decode disagree: %+v vs %+v", view(p), view(q))
		}
		return view(p), nil
	}
}

func connectWant(v packet.Version) any {
	c := ternConnect(v)
	c.Version = v // Append writes v; Decode records it
	return view(c)
}

// view maps a packet of either codec to its comparable view.
func view(p any) any {
	switch p := p.(type) {
	case *packet.Publish:
		pr := p.Properties
		props := pubProps(pr.PayloadFormat, val(pr.MessageExpiryInterval), pr.ContentType, pr.ResponseTopic,
			pr.CorrelationData, pr.TopicAlias, subIDs(pr.SubscriptionIDs), ternUser(pr.User))
		return pubView{p.Topic, byte(p.QoS), p.PacketID, p.Dup, p.Retain, digest(p.Payload), props}
	case *paho3.PublishPacket:
		return pubView{p.TopicName, p.Qos, p.MessageID, p.Dup, p.Retain, digest(p.Payload), pubProps(0, 0, "", "", nil, 0, subIDs(nil), "")}
	case *paho5.Publish:
		pr := p.Properties
		if pr == nil {
			pr = &paho5.Properties{}
		}
		props := pubProps(val(pr.PayloadFormat), val(pr.MessageExpiry), pr.ContentType, pr.ResponseTopic,
			pr.CorrelationData, val(pr.TopicAlias), pahoSubID(pr.SubscriptionIdentifier), pahoUser(pr.User))
		return pubView{p.Topic, p.QoS, p.PacketID, p.Duplicate, p.Retain, digest(p.Payload), props}

	case *packet.Connect:
		proto := "MQTT"
		if p.Version == packet.V31 {
			proto = "MQIsdp"
		}
		c := connView{Proto: proto, Version: byte(p.Version), ClientID: p.ClientID, Clean: p.CleanStart,
			KeepAlive: p.KeepAlive, User: p.Username, Pass: string(p.Password),
			SessionExpiry: val(p.Properties.SessionExpiryInterval), RecvMax: p.Properties.ReceiveMaximum,
			AliasMax: p.Properties.TopicAliasMaximum, MaxPacket: p.Properties.MaximumPacketSize,
			ReqRespInfo: p.Properties.RequestResponseInfo}
		c.UserProps = ternUser(p.Properties.User)
		if w := p.Will; w != nil {
			c.Will, c.WillTopic, c.WillMsg, c.WillQoS, c.WillRetain = true, w.Topic, string(w.Payload), byte(w.QoS), w.Retain
			c.WillDelay = w.Properties.WillDelayInterval
		}
		return c
	case *paho3.ConnectPacket:
		c := connView{Proto: p.ProtocolName, Version: p.ProtocolVersion, ClientID: p.ClientIdentifier, Clean: p.CleanSession,
			KeepAlive: p.Keepalive, User: p.Username, Pass: string(p.Password)}
		if p.WillFlag {
			c.Will, c.WillTopic, c.WillMsg, c.WillQoS, c.WillRetain = true, p.WillTopic, string(p.WillMessage), p.WillQos, p.WillRetain
		}
		return c
	case *paho5.Connect:
		c := connView{Proto: p.ProtocolName, Version: p.ProtocolVersion, ClientID: p.ClientID, Clean: p.CleanStart,
			KeepAlive: p.KeepAlive, User: p.Username, Pass: string(p.Password)}
		if pr := p.Properties; pr != nil {
			c.SessionExpiry, c.RecvMax, c.AliasMax = val(pr.SessionExpiryInterval), val(pr.ReceiveMaximum), val(pr.TopicAliasMaximum)
			c.MaxPacket, c.ReqRespInfo = val(pr.MaximumPacketSize), val(pr.RequestResponseInfo) == 1
			c.UserProps = pahoUser(pr.User)
		}
		if p.WillFlag {
			c.Will, c.WillTopic, c.WillMsg, c.WillQoS, c.WillRetain = true, p.WillTopic, string(p.WillMessage), p.WillQOS, p.WillRetain
			if p.WillProperties != nil {
				c.WillDelay = val(p.WillProperties.WillDelayInterval)
			}
		}
		return c

	case *packet.Subscribe:
		var f, o []string
		for _, s := range p.Subscriptions {
			f = append(f, s.Filter)
			o = append(o, subOpts(byte(s.QoS), s.NoLocal, s.RetainAsPublished, s.RetainHandling))
		}
		props := subIDs(p.Properties.SubscriptionIDs) + " " + ternUser(p.Properties.User)
		return subView{p.PacketID, strings.Join(f, ","), strings.Join(o, ","), props}
	case *paho3.SubscribePacket:
		var o []string
		for _, q := range p.Qoss {
			o = append(o, subOpts(q, false, false, 0))
		}
		return subView{p.MessageID, strings.Join(p.Topics, ","), strings.Join(o, ","), subIDs(nil) + " "}
	case *paho5.Subscribe:
		var f, o []string
		for _, s := range p.Subscriptions {
			f = append(f, s.Topic)
			o = append(o, subOpts(s.QoS, s.NoLocal, s.RetainAsPublished, s.RetainHandling))
		}
		var props string
		if pr := p.Properties; pr != nil {
			props = pahoSubID(pr.SubscriptionIdentifier) + " " + pahoUser(pr.User)
		} else {
			props = subIDs(nil) + " "
		}
		return subView{p.PacketID, strings.Join(f, ","), strings.Join(o, ","), props}
	}
	return fmt.Sprintf("unexpected packet %T", p)
}

func subOpts(qos byte, noLocal, rap bool, rh byte) string {
	return fmt.Sprintf("q%d/nl=%t/rap=%t/rh=%d", qos, noLocal, rap, rh)
}

func pubProps(format byte, expiry uint32, ctype, rtopic string, corr []byte, alias uint16, subids, user string) string {
	return fmt.Sprintf("format=%d expiry=%d type=%q response=%q corr=%x alias=%d subids=%s user=%s",
		format, expiry, ctype, rtopic, corr, alias, subids, user)
}

func subIDs(ids []uint32) string { return fmt.Sprint(ids) }

func pahoSubID(id *int) string {
	if id == nil {
		return "[]"
	}
	return fmt.Sprintf("[%d]", *id)
}

func ternUser(us []packet.UserProperty) string {
	var s string
	for _, u := range us {
		s += u.Key + "=" + u.Value + ";"
	}
	return s
}

func pahoUser(us []paho5.User) string {
	var s string
	for _, u := range us {
		s += u.Key + "=" + u.Value + ";"
	}
	return s
}

func val[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%d bytes, sha256 %x", len(b), sum[:8])
}

// hexDump prints up to 96 bytes in hex, and the length if there are more.
func hexDump(b []byte) string {
	if len(b) <= 96 {
		return fmt.Sprintf("% x", b)
	}
	return fmt.Sprintf("% x ... (%d bytes in all)", b[:96], len(b))
}
