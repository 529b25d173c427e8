import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRange } from '../../subgraphs/feed/media/delivery.js';
import { sniffMediaType } from '../../subgraphs/feed/media/sniff.js';

/** An ISO base media file's first box: `ftyp`, a major brand, a version, compatible brands. */
function ftyp(major: string, ...compatible: string[]): Buffer {
  const size = 16 + 4 * compatible.length;
  const box = Buffer.alloc(Math.max(size, 32));
  box.writeUInt32BE(size, 0);
  box.write('ftyp', 4, 'latin1');
  box.write(major, 8, 'latin1');
  compatible.forEach((brand, i) => box.write(brand, 16 + 4 * i, 'latin1'));
  return box;
}

test('uploads are typed by their first bytes', () => {
  const cases: [string, Buffer, string | null][] = [
    ['JPEG', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]), 'image/jpeg'],
    ['PNG', Buffer.from('\x89PNG\r\n\x1a\n\0\0\0\rIHDR', 'latin1'), 'image/png'],
    ['WebP', Buffer.from('RIFF\x24\0\0\0WEBPVP8 ', 'latin1'), 'image/webp'],
    ['HEIC', ftyp('heic', 'mif1', 'heic'), 'image/heic'],
    ['HEIF naming heic', ftyp('mif1', 'mif1', 'heic'), 'image/heic'],
    ['AVIF', ftyp('avif', 'avif', 'mif1'), 'image/avif'],
    ['AVIF under mif1', ftyp('mif1', 'avif'), 'image/avif'],
    ['MP4 (isom)', ftyp('isom', 'isom', 'iso2', 'avc1', 'mp41'), 'video/mp4'],
    ['MP4 (mp42)', ftyp('mp42', 'mp42', 'isom'), 'video/mp4'],
    ['QuickTime', ftyp('qt  ', 'qt  '), 'video/quicktime'],
    ['old QuickTime', Buffer.from('\0\0\0\x08wide\0\0\0\0mdat', 'latin1'), 'video/quicktime'],
    ['text', Buffer.from('just some text, not a picture'), null],
    ['GIF', Buffer.from('GIF89a\x01\0\x01\0\0\0\0', 'latin1'), null],
    ['PDF', Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3', 'latin1'), null],
    ['3GP', ftyp('3gp5', '3gp5'), null],
    ['too short', Buffer.from([0xff, 0xd8]), null],
  ];
  for (const [what, head, type] of cases) {
    assert.equal(sniffMediaType(head)?.contentType ?? null, type, what);
  }
  assert.equal(sniffMediaType(ftyp('isom'))?.kind, 'VIDEO');
  assert.equal(sniffMediaType(ftyp('avif'))?.kind, 'PHOTO');
});

test('Range headers: one byte range, clipped to the size', () => {
  const size = 1_000;
  assert.deepEqual(parseRange('bytes=0-99', size), { start: 0, end: 99 });
  assert.deepEqual(parseRange('bytes=900-', size), { start: 900, end: 999 });
  assert.deepEqual(parseRange('bytes=-100', size), { start: 900, end: 999 });
  assert.deepEqual(parseRange('bytes=-5000', size), { start: 0, end: 999 });
  assert.deepEqual(parseRange('bytes=990-5000', size), { start: 990, end: 999 });
  assert.equal(parseRange('bytes=1000-', size), 'unsatisfiable');
  assert.equal(parseRange('bytes=-0', size), 'unsatisfiable');
  // Served whole: no header, another unit, several ranges, nonsense.
  for (const header of [
    undefined,
    'items=0-1',
    'bytes=0-1,5-6',
    'bytes=-',
    'bytes=5-1',
    'bytes=a-b',
  ]) {
    assert.equal(parseRange(header, size), undefined, String(header));
  }
});
