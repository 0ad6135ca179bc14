"""What the benchmarks read from other programs' output."""
import pytest

from bench.train_parts import END_MARK, ONEDNN_CALLS, STEADY_MARK, convolution_times

# One line of each oneDNN version TensorFlow has shipped here (2.16: 3.3.4, 2.21: 3.7.3), as they print them.
ONEDNN_3_3 = ("onednn_verbose,primitive,exec,cpu,convolution,jit:avx512_core,backward_data,src_f32::blocked:acdb::f0 "
              "wei_f32::blocked:Acdb16a::f0,attr-scratchpad:user ,alg:convolution_direct,"
              "mb8_ic16oc32_ih128oh64kh4sh2dh0ph1_iw8ow4kw4sw2dw0pw1,0.202148")
ONEDNN_3_7 = ("onednn_verbose,v1,primitive,exec,cpu,convolution,brgconv_strided:avx512_core,backward_data,"
              "src:f32::blocked:acdb::f0 wei:f32:a:blocked:Acdb32a::f0,attr-scratchpad:user,alg:convolution_direct,"
              "mb8_ic16oc32_ih128oh64kh4sh2dh0ph1_iw8ow4kw4sw2dw0pw1,0.742188")
REORDER = "onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:f32::blocked:abcd::f0,,,16x1x4x4,0.5"


def test_convolution_times_reads_both_onednn_formats_between_the_markers_only():
    output = "\n".join([ONEDNN_3_7,  # a warm-up call, before any marker: not counted
                        f"{STEADY_MARK}critic update", ONEDNN_3_3, ONEDNN_3_7, ONEDNN_3_7, REORDER, END_MARK,
                        ONEDNN_3_3,  # after the end marker: not counted
                        f"{STEADY_MARK}separator update", ONEDNN_3_3, END_MARK])
    times = convolution_times(output)
    assert set(times) == {("critic update", "backward_data", "jit:avx512_core"),
                          ("critic update", "backward_data", "brgconv_strided:avx512_core"),
                          ("separator update", "backward_data", "jit:avx512_core")}
    assert times[("critic update", "backward_data", "brgconv_strided:avx512_core")] == \
        pytest.approx(2 * 0.742188 / ONEDNN_CALLS)
    assert times[("separator update", "backward_data", "jit:avx512_core")] == pytest.approx(0.202148 / ONEDNN_CALLS)
