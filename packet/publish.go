package packet

import (
	"errors"

	"github.com/ternmq/mqtt/topic"
)

// Publish is the PUBLISH packet, which carries an application message
// (MQTT 5.0 section 3.3).
//
// In MQTT 5.0 the Topic may be empty when Properties.TopicAlias is set
// (section 3.3.2.3.4). In MQTT 3.x Properties are not encoded.
type Publish struct {
	Dup        bool // a re-delivery (MQTT-3.3.1-1); never on QoS 0
	QoS        QoS
	Retain     bool
	Topic      string
	PacketID   uint16 // non-zero at QoS 1 and 2, zero at QoS 0
	Properties Properties
	Payload    []byte
}

// Type returns TypePublish.
func (*Publish) Type() Type { return TypePublish }

func (p *Publish) flags() byte {
	f := byte(p.QoS) << 1
	if p.Dup {
		f |= 0x08
	}
	if p.Retain {
		f |= 0x01
	}
	return f
}

// Append appends the encoded PUBLISH to dst. It refuses a QoS over 2, a
// QoS 0 message with a Packet Identifier or DUP set (MQTT-2.2.1-2,
// MQTT-3.3.1-2), a QoS 1 or 2 message without one (MQTT-2.2.1-3) and a topic
// that is not a valid topic name (MQTT-3.3.2-2, MQTT-4.7.3-1).
func (p *Publish) Append(dst []byte, v Version) ([]byte, error) {
	w := newWriter(TypePublish, v)
	p.write(&w)
	dst, err := w.header(dst, p.flags())
	if err != nil {
		return dst, err
	}
	p.write(&w)
	return w.b, nil
}

func (p *Publish) write(w *writer) {
	if w.count {
		switch {
		case !p.QoS.Valid():
			w.fail(ReasonMalformedPacket, p.QoS.String())
		case p.QoS == QoS0 && p.PacketID != 0:
			w.fail(ReasonProtocolError, "a Packet Identifier on a QoS 0 message")
		case p.QoS == QoS0 && p.Dup:
			w.fail(ReasonProtocolError, "DUP set on a QoS 0 message")
		case p.QoS > QoS0 && p.PacketID == 0:
			w.fail(ReasonProtocolError, "Packet Identifier 0")
		}
		if p.Topic != "" || w.v != V5 || p.Properties.TopicAlias == 0 {
			if err := topic.CheckName(p.Topic); err != nil {
				w.failTopic(ReasonTopicNameInvalid, "", err)
			}
		}
	}
	w.strTrusted(p.Topic)
	if p.QoS > QoS0 {
		w.u16(p.PacketID)
	}
	if w.v == V5 {
		w.props(&p.Properties, pPublish)
	}
	w.raw(p.Payload)
}

// Decode decodes a PUBLISH from the front of src; see [Packet].
func (p *Publish) Decode(src []byte, v Version) (int, error) {
	d, n, err := startDecode(src, v, TypePublish)
	if err != nil {
		return 0, err
	}
	*p = Publish{}
	p.decode(&d)
	return n, d.end()
}

func (p *Publish) decode(d *decoder) {
	p.Dup = d.flags&0x08 != 0
	p.QoS = QoS(d.flags >> 1 & 3)
	p.Retain = d.flags&0x01 != 0
	if p.QoS > QoS2 {
		d.malformed("QoS 3") // MQTT-3.3.1-4
		return
	}
	if p.QoS == QoS0 && p.Dup {
		d.protocol("DUP set on a QoS 0 message") // MQTT-3.3.1-2
		return
	}
	p.Topic = d.strUnchecked("Topic Name") // checked below, in one pass
	if p.QoS > QoS0 {
		p.PacketID = d.u16("Packet Identifier")
		if d.err == nil && p.PacketID == 0 {
			d.protocol("Packet Identifier 0") // MQTT-2.2.1-3, 3.1.1 MQTT-2.3.1-1
		}
	}
	if d.v == V5 {
		d.props(&p.Properties, pPublish)
	}
	if d.err != nil {
		return
	}
	switch {
	case p.Topic == "" && d.v == V5:
		if p.Properties.TopicAlias == 0 {
			d.protocol("empty Topic Name without a Topic Alias") // MQTT 5.0 section 3.3.2.1
		}
	case p.Topic == "":
		d.protocol("empty Topic Name") // MQTT-4.7.3-1
	default:
		if err := topic.CheckName(p.Topic); err != nil {
			if errors.Is(err, topic.ErrWildcard) {
				d.fail(topicError(ReasonProtocolError, TypePublish, false, "wildcard in Topic Name", err)) // MQTT-3.3.2-2
			} else {
				d.fail(topicError(ReasonMalformedPacket, TypePublish, false, "Topic Name", err)) // MQTT-1.5.4-1, MQTT-1.5.4-2
			}
		}
	}
	if b := d.rest(); len(b) > 0 {
		p.Payload = b
	}
}
