package store

import (
	"encoding/binary"
	"hash/crc32"
)

// The log is a sequence of records, each a fixed 20-byte header and its
// data, all integers little-endian:
//
//	offset size field
//	0      2    magic, 0xE5 0x54
//	2      1    operation: 1 put, 2 delete
//	3      1    reserved, 0
//	4      8    key
//	12     4    data length, at most MaxDataSize; 0 for a delete
//	16     4    CRC-32C (Castagnoli) of bytes 0 to 15, then of the data
//	20     n    data
const (
	headerSize = 20
	magic0     = 0xE5
	magic1     = 0x54
	opPut      = 1
	opDelete   = 2
)

// MaxDataSize is the largest record Put accepts: the largest MQTT packet
// (256 MiB) and room for the client's own framing. Replay treats a larger
// length as corruption, so a damaged length field never makes it allocate
// or read more than this.
const MaxDataSize = 256<<20 + 64<<10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header is a record header that passed parseHeader's checks; its CRC is
// not yet verified against the data.
type header struct {
	op  byte
	key uint64
	n   uint32 // data length
	crc uint32 // as stored
}

// size is the record's length on disk.
func (h header) size() int64 { return headerSize + int64(h.n) }

// appendRecord appends the encoding of one record to dst.
func appendRecord(dst []byte, op byte, key uint64, data []byte) []byte {
	start := len(dst)
	dst = append(dst, magic0, magic1, op, 0)
	dst = binary.LittleEndian.AppendUint64(dst, key)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(data)))
	crc := crc32.Update(0, castagnoli, dst[start:])
	crc = crc32.Update(crc, castagnoli, data)
	dst = binary.LittleEndian.AppendUint32(dst, crc)
	return append(dst, data...)
}

// parseHeader decodes the first headerSize bytes of b and checks every
// field it can without the data: the magic, the operation, the reserved
// byte and the length.
func parseHeader(b []byte) (header, bool) {
	if len(b) < headerSize || !plausiblePrefix(b[:headerSize]) {
		return header{}, false
	}
	return header{
		op:  b[2],
		key: binary.LittleEndian.Uint64(b[4:]),
		n:   binary.LittleEndian.Uint32(b[12:]),
		crc: binary.LittleEndian.Uint32(b[16:]),
	}, true
}

// plausiblePrefix reports whether b (at most a header long) can be the
// beginning of a record: what a write cut short leaves.
func plausiblePrefix(b []byte) bool {
	if len(b) > 0 && b[0] != magic0 ||
		len(b) > 1 && b[1] != magic1 ||
		len(b) > 2 && b[2] != opPut && b[2] != opDelete ||
		len(b) > 3 && b[3] != 0 {
		return false
	}
	if len(b) >= 16 {
		n := binary.LittleEndian.Uint32(b[12:])
		if n > MaxDataSize || b[2] == opDelete && n != 0 {
			return false
		}
	}
	return true
}

// headerCRC starts the CRC of a record from its header.
func headerCRC(b []byte) uint32 { return crc32.Update(0, castagnoli, b[:16]) }

// recordCRC computes the CRC of the whole record in rec.
func recordCRC(rec []byte) uint32 {
	return crc32.Update(headerCRC(rec), castagnoli, rec[headerSize:])
}
