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

row:
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
	JNZ row

	VZEROUPPER
	RET
