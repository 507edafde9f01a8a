import gzip
import io

from transforms.io import frame_csv, frame_lines, iter_blocks, plan_chunks, read_chunk


def test_blocks_end_on_newlines_and_count_lines():
    data = b"".join(b'{"n":%d}\n' % i for i in range(100))
    blocks = list(iter_blocks(io.BytesIO(data), 64, quoted=False))
    assert b"".join(b for _, _, b, _ in blocks) == data
    for offset, lines_before, block, _ in blocks:
        assert block.endswith(b"\n")
        assert data[:offset].count(b"\n") == lines_before


def test_csv_blocks_never_split_a_quoted_newline():
    rows = [b'%d,"first line\nsecond line",x\n' % i for i in range(50)]
    data = b"".join(rows)
    blocks = list(iter_blocks(io.BytesIO(data), 40, quoted=True))
    for _, _, block, _ in blocks:
        assert block.count(b'"') % 2 == 0
    assert b"".join(b for _, _, b, _ in blocks) == data


def test_plan_chunks_cover_the_file_with_right_first_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(b'{"n":%d}\n' % i for i in range(1000)))
    specs = plan_chunks(str(path), "web", chunk_bytes=1000)
    assert len(specs) > 5
    assert specs[0].start == 0 and specs[-1].end == path.stat().st_size
    for a, b in zip(specs, specs[1:]):
        assert a.end == b.start
    lines = [first for spec in specs for first, _ in read_chunk(spec)]
    assert lines == [spec.first_line for spec in specs]
    # each chunk's first line number matches the record it starts with
    for spec in specs:
        _, block = next(read_chunk(spec))
        assert block.startswith(b'{"n":%d}' % (spec.first_line - 1))


def test_csv_header_rows_and_bom_are_skipped(tmp_path):
    path = tmp_path / "responses.csv"
    path.write_bytes(b'\xef\xbb\xbfA,B\nQuestion A,Question B\n"{""ImportId"":""QID1""}","{""ImportId"":""QID2""}"\n1,2\n3,4\n')
    [spec] = plan_chunks(str(path), "survey")
    assert spec.header == ("A", "B") and spec.layout.labels == ("Question A", "Question B")
    assert spec.first_line == 4
    [(first, block)] = list(read_chunk(spec))
    assert block == b"1,2\n3,4\n"


def test_gzip_files_are_streamed_in_blocks(tmp_path):
    path = tmp_path / "events.jsonl.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"".join(b'{"n":%d}\n' % i for i in range(500)))
    [spec] = plan_chunks(str(path), "web")
    assert spec.end == -1 and spec.layout.gzip
    blocks = list(read_chunk(spec, chunk_bytes=500))
    assert len(blocks) > 3
    total = sum(frame_lines(block, first).num_rows for first, block in blocks)
    assert total == 500
    assert [first for first, _ in blocks][:2] == [1, 1 + blocks[0][1].count(b"\n")]


def test_frame_lines_skips_blank_lines_and_flags_invalid_utf8():
    table = frame_lines(b'{"a":1}\n\n  \n{"a":\xff}\r\n{"a":3}', 10)
    assert table["source_line"].to_pylist() == [10, 13, 14]
    assert table["frame_error"].to_pylist() == [None, "invalid_utf8", None]
    assert table["raw"].to_pylist()[2] == '{"a":3}'


def test_frame_csv_keeps_quoted_newlines_and_flags_wrong_widths():
    block = b'1,"two\nlines",x\n2,short\n3,b,c,extra\n4,d,e\n'
    table = frame_csv(block, 2, ("id", "text", "code"))
    assert table["source_line"].to_pylist() == [2, 4, 5, 6]
    assert table["col_text"].to_pylist() == ["two\nlines", None, None, "d"]
    assert table["frame_error"].to_pylist() == [None, "csv_column_count", "csv_column_count", None]
    assert table["frame_message"][1].as_py() == "expected 3 columns, found 2"
    assert table["raw"][0].as_py() == '1,"two\nlines",x'


def test_a_quote_that_never_closes_fails_its_line_and_the_next_rows_stay_records():
    block = b'1,"never closed,x\n2,two,y\n3,three,z\n'
    table = frame_csv(block, 2, ("id", "text", "code"))
    assert table["source_line"].to_pylist() == [2, 3, 4]
    assert table["frame_error"].to_pylist() == ["malformed_csv", None, None]
    assert table["frame_message"][0].as_py() == "a quote opened on line 2 never closes"
    assert table["col_text"].to_pylist() == [None, "two", "three"]


def test_a_field_over_128_kb_is_a_field_and_one_over_the_record_limit_fails_alone():
    big, huge = "x" * 200_000, "y" * 1_100_000
    block = f"1,{big},a\n2,{huge},b\n3,c,d\n".encode()
    table = frame_csv(block, 2, ("id", "text", "code"))
    assert table["frame_error"].to_pylist() == [None, "record_too_large", None]
    assert len(table["col_text"][0].as_py()) == 200_000 and table["col_code"].to_pylist() == ["a", None, "d"]


def test_a_nul_byte_fails_its_record_and_framing_goes_on():
    table = frame_csv(b"1,a\x00b,c\n2,d,e\n", 2, ("id", "text", "code"))
    assert list(zip(table["source_line"].to_pylist(), table["frame_error"].to_pylist())) == [(2, "malformed_csv"), (3, None)]


def test_mixed_line_endings_keep_every_row():
    table = frame_csv(b"1,a,b\r\n2,c,d\n3,e,f\r\n", 2, ("id", "text", "code"))
    assert table["col_code"].to_pylist() == ["b", "d", "f"] and table["frame_error"].null_count == 3


def test_a_compressed_line_of_any_length_is_read_in_bounded_memory(tmp_path):
    import tracemalloc

    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb") as f:
        f.write(b'{"n":1}\n{"pad":"' + b"a" * 40_000_000 + b'"}\n{"n":3}\n')
    tracemalloc.start()
    [spec] = plan_chunks(str(path), "web", chunk_bytes=1 << 20)
    tables = [frame_lines(block, first) for first, block in read_chunk(spec, chunk_bytes=1 << 20)]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rows = [(line, error) for t in tables for line, error in zip(t["source_line"].to_pylist(), t["frame_error"].to_pylist())]
    assert rows == [(1, None), (2, "record_too_large"), (3, None)]
    assert peak < 16 * (1 << 20)  # a few chunks and one record's limit, not the 40 MB line


def test_an_over_long_line_in_a_plain_file_keeps_the_chunks_exact(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"n":1}\n' + b"x" * 3_000_000 + b'\n{"n":3}\n')
    specs = plan_chunks(str(path), "web", chunk_bytes=1 << 16)
    assert specs[-1].end == path.stat().st_size
    lines = [(line, error) for spec in specs for first, block in read_chunk(spec, chunk_bytes=1 << 16)
             for line, error in zip(frame_lines(block, first)["source_line"].to_pylist(), frame_lines(block, first)["frame_error"].to_pylist())]
    assert lines == [(1, None), (2, "record_too_large"), (3, None)]


def test_every_chunk_carries_the_digest_of_its_bytes_and_a_reader_sees_a_change(tmp_path):
    from transforms.framing import ReadDigest, file_digest
    from transforms.io import frame_chunk, plan_file

    path = tmp_path / "calls.csv"
    path.write_bytes(b"\xef\xbb\xbfid,text\n" + b"".join(b'%d,"line %d\nstill %d"\n' % (i, i, i) for i in range(300)))
    planned = plan_file(str(path), "call_center", chunk_bytes=1000)
    assert len(planned.specs) > 3 and (planned.size, planned.sha256) == file_digest(str(path))
    for spec in planned.specs:
        digest = ReadDigest()
        list(frame_chunk(spec, 1000, digest))
        assert digest.hexdigest() == spec.digest
    content = path.read_bytes()
    path.write_bytes(content.replace(b"line 299", b"LINE 299"))  # same size, other bytes
    digest = ReadDigest()
    list(frame_chunk(planned.specs[-1], 1000, digest))
    assert digest.hexdigest() != planned.specs[-1].digest


def test_a_streamed_file_is_digested_whole_even_when_the_reader_stops_early(tmp_path):
    import gzip

    from transforms.framing import ReadDigest
    from transforms.io import frame_chunk, plan_file

    path = tmp_path / "page.json.gz"
    path.write_bytes(gzip.compress(b'{"tickets": [{"id": 1}]}   \n\n', mtime=0))
    [spec] = plan_file(str(path), "email").specs
    digest = ReadDigest()
    list(frame_chunk(spec, 1 << 20, digest))
    assert digest.hexdigest() == spec.digest and digest.size == path.stat().st_size
