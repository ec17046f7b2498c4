//go:build amd64 && !purego

#include "textflag.h"

// func dotsAVX2(q, qa, gal *int8, pad, n int, out *int32)
//
// For each of n rows of gal (pad bytes each, pad a multiple of 32, n >= 1):
// out[t] = sum_i q[i]*gal[t*pad+i]. Signed bytes times signed bytes via
// VPSIGNB (gal takes q's sign) and VPMADDUBSW (|q| unsigned times signed),
// exact because all values are within [-127, 127]: a pair sum is at most
// 2*127*127 = 32258 < 32767. VPMADDWD with ones widens to int32.
TEXT ·dotsAVX2(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ qa+8(FP), DI
	MOVQ gal+16(FP), DX
	MOVQ pad+24(FP), CX
	MOVQ n+32(FP), BX
	MOVQ out+40(FP), R8
	MOVL $0x00010001, AX
	MOVQ AX, X15
	VPBROADCASTD X15, Y15

	// Four rows at a time: the probe chunk is loaded once for four rows and
	// the four sums are reduced together (VPHADDD).
	MOVQ CX, R11
	ADDQ DX, R11      // row 1
	LEAQ (R11)(CX*1), R12 // row 2
	LEAQ (R12)(CX*1), R13 // row 3
	LEAQ (CX)(CX*2), R14  // 3*pad
	ADDQ CX, R14          // 4*pad: step to the next four rows

quad:
	CMPQ BX, $4
	JLT row
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	XORQ R9, R9

qchunk:
	VMOVDQU (SI)(R9*1), Y2 // q
	VMOVDQU (DI)(R9*1), Y3 // |q|
	VMOVDQU (DX)(R9*1), Y0
	VMOVDQU (R11)(R9*1), Y1
	VPSIGNB Y2, Y0, Y0
	VPSIGNB Y2, Y1, Y1
	VPMADDUBSW Y0, Y3, Y0
	VPMADDUBSW Y1, Y3, Y1
	VPMADDWD Y15, Y0, Y0
	VPMADDWD Y15, Y1, Y1
	VPADDD Y0, Y4, Y4
	VPADDD Y1, Y5, Y5
	VMOVDQU (R12)(R9*1), Y0
	VMOVDQU (R13)(R9*1), Y1
	VPSIGNB Y2, Y0, Y0
	VPSIGNB Y2, Y1, Y1
	VPMADDUBSW Y0, Y3, Y0
	VPMADDUBSW Y1, Y3, Y1
	VPMADDWD Y15, Y0, Y0
	VPMADDWD Y15, Y1, Y1
	VPADDD Y0, Y6, Y6
	VPADDD Y1, Y7, Y7
	ADDQ $32, R9
	CMPQ R9, CX
	JLT qchunk

	VPHADDD Y5, Y4, Y4 // a01 a23 b01 b23 | a45 a67 b45 b67
	VPHADDD Y7, Y6, Y6 // c01 c23 d01 d23 | ...
	VPHADDD Y6, Y4, Y4 // a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7
	VEXTRACTI128 $1, Y4, X5
	VPADDD X5, X4, X4
	VMOVDQU X4, (R8)
	ADDQ $16, R8
	ADDQ R14, DX
	ADDQ R14, R11
	ADDQ R14, R12
	ADDQ R14, R13
	SUBQ $4, BX
	JMP quad

row:
	TESTQ BX, BX
	JZ done
	VPXOR Y0, Y0, Y0
	VPXOR Y4, Y4, Y4
	XORQ R9, R9

	// Two 32-byte chunks per step when possible (two accumulators).
	MOVQ CX, R10
	ANDQ $-64, R10
	JZ tail

pair:
	VMOVDQU (DX)(R9*1), Y1
	VMOVDQU 32(DX)(R9*1), Y5
	VPSIGNB (SI)(R9*1), Y1, Y1
	VPSIGNB 32(SI)(R9*1), Y5, Y5
	VMOVDQU (DI)(R9*1), Y2
	VMOVDQU 32(DI)(R9*1), Y6
	VPMADDUBSW Y1, Y2, Y1
	VPMADDUBSW Y5, Y6, Y5
	VPMADDWD Y15, Y1, Y1
	VPMADDWD Y15, Y5, Y5
	VPADDD Y1, Y0, Y0
	VPADDD Y5, Y4, Y4
	ADDQ $64, R9
	CMPQ R9, R10
	JLT pair

tail:
	CMPQ R9, CX
	JGE reduce
	VMOVDQU (DX)(R9*1), Y1
	VPSIGNB (SI)(R9*1), Y1, Y1
	VMOVDQU (DI)(R9*1), Y2
	VPMADDUBSW Y1, Y2, Y1
	VPMADDWD Y15, Y1, Y1
	VPADDD Y1, Y0, Y0
	ADDQ $32, R9
	JMP tail

reduce:
	VPADDD Y4, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0x4E, X0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0xB1, X0, X1
	VPADDD X1, X0, X0
	VMOVD X0, (R8)
	ADDQ $4, R8
	ADDQ CX, DX
	DECQ BX
	JMP row

done:
	VZEROUPPER
	RET

// func dotsVNNI(q, gal *int8, pad, n int, corr int32, out *int32)
//
// dotsAVX2 with AVX-512 VNNI, pad a multiple of 64: VPDPBUSD multiplies
// unsigned by signed bytes into int32 lanes, so each gallery chunk is made
// unsigned on the fly (g XOR 0x80 = g+128) and the probe stays signed:
// sum((g+128)*q) = sum(g*q) + 128*sum(q), and the caller passes
// corr = 128*sum(q) to take off again. Exact in int32.
TEXT ·dotsVNNI(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ gal+8(FP), DX
	MOVQ pad+16(FP), CX
	MOVQ n+24(FP), BX
	MOVL corr+32(FP), AX
	MOVQ out+40(FP), R8
	VPBROADCASTD AX, X10
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z9
	MOVQ CX, R11
	ADDQ DX, R11
	LEAQ (R11)(CX*1), R12
	LEAQ (R12)(CX*1), R13
	LEAQ (CX)(CX*2), R14
	ADDQ CX, R14

vquad:
	CMPQ BX, $4
	JLT vrow
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	XORQ R9, R9

vqchunk:
	VMOVDQU64 (SI)(R9*1), Z8
	VPXORD (DX)(R9*1), Z9, Z4
	VPXORD (R11)(R9*1), Z9, Z5
	VPXORD (R12)(R9*1), Z9, Z6
	VPXORD (R13)(R9*1), Z9, Z7
	VPDPBUSD Z8, Z4, Z0
	VPDPBUSD Z8, Z5, Z1
	VPDPBUSD Z8, Z6, Z2
	VPDPBUSD Z8, Z7, Z3
	ADDQ $64, R9
	CMPQ R9, CX
	JLT vqchunk

	VEXTRACTI64X4 $1, Z0, Y4
	VEXTRACTI64X4 $1, Z1, Y5
	VEXTRACTI64X4 $1, Z2, Y6
	VEXTRACTI64X4 $1, Z3, Y7
	VPADDD Y4, Y0, Y0
	VPADDD Y5, Y1, Y1
	VPADDD Y6, Y2, Y2
	VPADDD Y7, Y3, Y3
	VPHADDD Y1, Y0, Y0
	VPHADDD Y3, Y2, Y2
	VPHADDD Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD X1, X0, X0
	VPSUBD X10, X0, X0
	VMOVDQU X0, (R8)
	ADDQ $16, R8
	ADDQ R14, DX
	ADDQ R14, R11
	ADDQ R14, R12
	ADDQ R14, R13
	SUBQ $4, BX
	JMP vquad

vrow:
	TESTQ BX, BX
	JZ vdone
	VPXORD Z0, Z0, Z0
	XORQ R9, R9

vchunk:
	VMOVDQU64 (SI)(R9*1), Z8
	VPXORD (DX)(R9*1), Z9, Z4
	VPDPBUSD Z8, Z4, Z0
	ADDQ $64, R9
	CMPQ R9, CX
	JLT vchunk

	VEXTRACTI64X4 $1, Z0, Y4
	VPADDD Y4, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0x4E, X0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0xB1, X0, X1
	VPADDD X1, X0, X0
	VPSUBD X10, X0, X0
	VMOVD X0, (R8)
	ADDQ $4, R8
	ADDQ CX, DX
	DECQ BX
	JMP vrow

vdone:
	VZEROUPPER
	RET
