/*
 * switch_aarch64.S — the context switch for AArch64 (AAPCS64, ELF).
 *
 *   void weft__fiber_swap(struct weft__fiber *from, struct weft__fiber *to);
 *   void weft__fiber_start(void);   (first "return address" of a new fiber)
 *
 * weft__fiber_swap is an ordinary call, so only the callee-saved state is
 * kept, in a 176-byte frame on the stack being left:
 *
 *	sp +   0  x19 x20      sp +  96  d8  d9
 *	sp +  16  x21 x22      sp + 112  d10 d11
 *	sp +  32  x23 x24      sp + 128  d12 d13
 *	sp +  48  x25 x26      sp + 144  d14 d15
 *	sp +  64  x27 x28      sp + 160  FPCR (8 bytes; 8 of padding)
 *	sp +  80  x29 x30
 *
 * (d8-d15 are the low 64 bits of v8-v15, all the ABI asks a callee to
 * keep.) The frame's stack pointer goes to from->sp (offset 0 of struct
 * weft__fiber), to->sp becomes sp, the frame is reloaded from it and `ret`
 * branches to the restored x30: where `to` called weft__fiber_swap.
 *
 * weft__fiber_make (fiber.c) builds that frame on a new stack with x30 =
 * weft__fiber_start, x19 = the entry function, x20 = its argument and
 * x29 = 0 (the end of the frame-pointer chain); weft__fiber_start calls
 * entry(arg). entry never returns (fiber.h); if it did, brk traps.
 */
#if defined(__aarch64__)

	.text
	.p2align 4
	.globl	weft__fiber_swap
	.hidden	weft__fiber_swap
	.type	weft__fiber_swap, %function
weft__fiber_swap:
	.cfi_startproc
	sub	sp, sp, #176
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mrs	x9, fpcr
	str	x9, [sp, #160]

	mov	x10, sp
	str	x10, [x0]	/* from->sp */
	ldr	x10, [x1]	/* to->sp */
	mov	sp, x10

	ldr	x9, [sp, #160]
	msr	fpcr, x9
	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	add	sp, sp, #176
	ret
	.cfi_endproc
	.size	weft__fiber_swap, .-weft__fiber_swap

	.p2align 4
	.globl	weft__fiber_start
	.hidden	weft__fiber_start
	.type	weft__fiber_start, %function
weft__fiber_start:
	.cfi_startproc
	.cfi_undefined x30	/* the outermost frame: unwinders stop here */
	mov	x0, x20
	blr	x19
	brk	#0
	.cfi_endproc
	.size	weft__fiber_start, .-weft__fiber_start

#endif /* __aarch64__ */

	.section .note.GNU-stack, "", %progbits
