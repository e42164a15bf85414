/*
 * switch_x86_64.S — the context switch for x86-64 SysV (ELF).
 *
 *   void weft__fiber_swap(struct weft__fiber *from, struct weft__fiber *to);
 *   void weft__fiber_start(void);   (first "return address" of a new fiber)
 *
 * weft__fiber_swap is an ordinary call: the caller has already saved every
 * caller-saved register it needs, so only the callee-saved state is kept,
 * on the stack being left, in this frame (addresses grow upwards):
 *
 *	sp + 0   x87 control word (fnstcw, 2 bytes; slot of 8)
 *	sp + 8   MXCSR (stmxcsr, 4 bytes; slot of 8)
 *	sp + 16  r15
 *	sp + 24  r14
 *	sp + 32  r13
 *	sp + 40  r12
 *	sp + 48  rbx
 *	sp + 56  rbp
 *	sp + 64  return address (pushed by the call)
 *
 * The stack pointer of that frame goes to from->sp (offset 0 of struct
 * weft__fiber), then to->sp becomes the stack pointer, the same frame is
 * popped from it and a jump to the popped return address resumes `to` where
 * it called weft__fiber_swap. A jump, not `ret`: `ret` is predicted by the
 * return stack buffer, which holds the return address of the call just
 * made in `from`, so every switch between different call sites (a
 * scheduler and its coroutines) would be a mispredicted return; an
 * indirect jump goes through the branch target predictor, which learns
 * the alternation (ping-pong measured 15 ns with ret, 6.4 ns with the
 * jump; bench/bench_switch). (CET: an enforced IBT would want an endbr64
 * at every return site and a shadow stack cannot follow any stack switch;
 * this file carries no GNU property note, so neither is turned on for a
 * program that links it.)
 * The status flags of MXCSR travel with the control bits: harmless, and
 * one ldmxcsr either way.
 *
 * weft__fiber_make (fiber.c) builds that frame on a new stack with
 * weft__fiber_start as the return address, the entry function in r12 and
 * its argument in r13; weft__fiber_start calls entry(arg) on a 16-byte
 * aligned stack. entry never returns (fiber.h); if it did, ud2 traps.
 */
#if defined(__x86_64__)

#if defined(__CET__) && (__CET__ & 1)
#define WEFT_ENDBR endbr64
#else
#define WEFT_ENDBR
#endif

	.text
	.p2align 4
	.globl	weft__fiber_swap
	.hidden	weft__fiber_swap
	.type	weft__fiber_swap, @function
weft__fiber_swap:
	.cfi_startproc
	WEFT_ENDBR
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$16, %rsp
	fnstcw	(%rsp)
	stmxcsr	8(%rsp)

	movq	%rsp, (%rdi)	/* from->sp */
	movq	(%rsi), %rsp	/* to->sp */

	fldcw	(%rsp)
	ldmxcsr	8(%rsp)
	addq	$16, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	popq	%r8		/* the return address; r8 is caller-saved */
	jmp	*%r8
	.cfi_endproc
	.size	weft__fiber_swap, .-weft__fiber_swap

	.p2align 4
	.globl	weft__fiber_start
	.hidden	weft__fiber_start
	.type	weft__fiber_start, @function
weft__fiber_start:
	.cfi_startproc
	.cfi_undefined rip	/* the outermost frame: unwinders stop here */
	WEFT_ENDBR
	movq	%r13, %rdi
	callq	*%r12
	ud2
	.cfi_endproc
	.size	weft__fiber_start, .-weft__fiber_start

#endif /* __x86_64__ */

	.section .note.GNU-stack, "", @progbits
