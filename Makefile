# Makefile for dmlctl: GNU make, non-recursive.
#
#   make                 build dmlctl (runs contrib/install-deps.sh and
#                        ./configure first when config.mk is missing)
#   make check           build, then run the unit tests, the fuzz corpora and
#                        the shell tests; ends with "N passed, N failed"
#   make check T=t1000   only the shell tests t/t1000*.sh (T=unit/NAME and
#                        T=fuzz/NAME pick unit and fuzz programs; globs work)
#   make demo            build, then run contrib/demo.sh
#   make bench           build t/perf programs, run t/perf/*.sh in order
#   make install         PREFIX=/usr/local DESTDIR= (uninstall undoes it)
#   make clean           remove build outputs (distclean: config.mk too)
#   make deps            install the build dependencies (Debian)
#
# Variables: SANITIZE=address,undefined builds into its own directory
# (.build/san-address-undefined/) so its objects never mix with the normal
# ones (.build/default/); V=1 shows whole commands; WERROR=0 drops -Werror;
# TEST_TIMEOUT=SECONDS limits each test program or script (0: no limit).
#
# Objects live under .build/<variant>/; the programs themselves (dmlctl,
# t/unit/NAME, t/fuzz/NAME-replay, t/perf/NAME) are linked in the tree from
# the variant last asked for, and relinked whenever the variant changes.

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:
SHELL := /bin/sh

# ---------------------------------------------------------------------------
# Configuration

# Goals that work without config.mk; any other goal creates it first.
NOCONFIG_GOALS := clean distclean deps help
ifneq ($(if $(MAKECMDGOALS),$(filter-out $(NOCONFIG_GOALS),$(MAKECMDGOALS)),all),)
include config.mk
ifneq ($(shell test config.mk -ot configure && echo stale),)
$(warning configure is newer than config.mk: rerun ./configure)
endif
endif

# Runs only when config.mk is missing; make then restarts with it.
config.mk:
	@echo 'config.mk is missing: checking dependencies and running ./configure'
	sh contrib/install-deps.sh
	sh ./configure

PREFIX ?= /usr/local
BINDIR := $(PREFIX)/bin
MANDIR := $(PREFIX)/share/man
BASHCOMPDIR := $(PREFIX)/share/bash-completion/completions
DESTDIR ?=
AR ?= ar
INSTALL ?= install
WERROR ?= 1
TEST_TIMEOUT ?= 900
LOG_LINES ?= 200

VERSION := $(or $(shell test -e .git && git describe --always --dirty 2>/dev/null),0.1.0)

comma := ,
SANITIZE := $(strip $(SANITIZE))
VARIANT := $(if $(SANITIZE),san-$(subst $(comma),-,$(SANITIZE)),default)
B := .build/$(VARIANT)

# ---------------------------------------------------------------------------
# Flags.  These never change with the machine: the same source must compute
# the same bits everywhere (-ffp-contract=off, and never -ffast-math).

STD_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -pthread \
	-ffp-contract=off -O2 -g
WARN_CFLAGS := -Wall -Wextra $(if $(filter 0,$(WERROR)),,-Werror) \
	-Wstrict-prototypes -Wvla -Wwrite-strings -Wno-unused-parameter
SAN_FLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
	-fno-sanitize-recover=all)

# Compile-time paths: where the installed man pages are, and the doc/ of
# this source tree, so that a dmlctl run from the build tree finds its pages.
sq = $(subst ','\'',$(1))
PATH_DEFINES := -DDML_MANDIR='"$(call sq,$(MANDIR))"' \
	-DDML_SRCDOCDIR='"$(call sq,$(CURDIR)/doc)"'
VERSION_DEFINE := -DDML_VERSION='"$(call sq,$(VERSION))"'

COMPILE = $(strip $(CC) $(STD_CFLAGS) $(WARN_CFLAGS) $(SAN_FLAGS) -Iinclude -Ilib \
	$(DEPS_CFLAGS) $(DEFS) $(PATH_DEFINES) $(CPPFLAGS) $(DEBUG_CFLAGS) $(CFLAGS))
LINK = $(strip $(CC) -pthread $(SAN_FLAGS) $(LDFLAGS))

ifeq ($(V),1)
Q :=
say := @:
else
Q := @
say := @printf '%s %s\n'
endif

# ---------------------------------------------------------------------------
# Sources and programs

LIB_SRCS := $(sort $(wildcard lib/*.c))
CMD_SRCS := $(sort $(wildcard cmd/*.c))
UNIT_SRCS := $(sort $(wildcard t/unit/*.c))
FUZZ_MAIN := t/fuzz/replay-main.c
FUZZ_SRCS := $(filter-out $(FUZZ_MAIN),$(sort $(wildcard t/fuzz/*.c)))
PERF_SRCS := $(sort $(wildcard t/perf/*.c))
TEST_SCRIPTS := $(sort $(wildcard t/t[0-9][0-9][0-9][0-9]-*.sh))
BENCH_SCRIPTS := $(sort $(wildcard t/perf/*.sh))

obj = $(patsubst %.c,$(B)/%.o,$(1))
LIB_OBJS := $(call obj,$(LIB_SRCS))
CMD_OBJS := $(call obj,$(CMD_SRCS))
ALL_OBJS := $(call obj,$(LIB_SRCS) $(CMD_SRCS) $(UNIT_SRCS) $(FUZZ_SRCS) \
	$(FUZZ_MAIN) $(PERF_SRCS))

LIBDML := $(B)/libdml.a
UNIT_PROGS := $(UNIT_SRCS:.c=)
FUZZ_PROGS := $(FUZZ_SRCS:.c=-replay)
PERF_PROGS := $(PERF_SRCS:.c=)
CHECK_PROGS := dmlctl $(UNIT_PROGS) $(FUZZ_PROGS)

# ---------------------------------------------------------------------------
# Stamps: files whose content is a setting and whose time is when that
# setting last changed, so that changing it rebuilds exactly what it affects.
#   $(B)/.flags     all compile and link flags of this variant
#   $(B)/.version   DML_VERSION; only sources naming DML_VERSION depend on it
#   .build/variant  which variant the in-tree programs were linked from

# $(call stamp,TEXT): rewrite $@ only when TEXT differs from its content.
define stamp
@mkdir -p $(@D)
@printf '%s\n' '$(call sq,$(1))' >$@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi
endef

$(B)/.flags: FORCE
	$(call stamp,$(COMPILE) | $(CMOCKA_CFLAGS) | $(LINK) | $(LIBS) | $(CMOCKA_LIBS))
$(B)/.version: FORCE
	$(call stamp,$(VERSION))
.build/variant: FORCE
	$(call stamp,$(VARIANT))

VERSION_USERS := $(if $(ALL_OBJS),$(shell grep -l DML_VERSION \
	$(LIB_SRCS) $(CMD_SRCS) $(UNIT_SRCS) $(FUZZ_SRCS) $(PERF_SRCS) \
	$(wildcard include/dml/*.h lib/*.h) 2>/dev/null))
ifneq ($(filter %.h,$(VERSION_USERS)),)
$(ALL_OBJS): $(B)/.version
else
$(call obj,$(VERSION_USERS)): $(B)/.version
endif

LINK_DEPS := $(LIBDML) $(B)/.flags .build/variant

# ---------------------------------------------------------------------------
# Building

all: dmlctl
tests: $(CHECK_PROGS)

$(B)/%.o: %.c $(B)/.flags
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(COMPILE) $(EXTRA_CFLAGS) $(VERSION_DEFINE) -MMD -MP -c -o $@ $<

$(call obj,$(UNIT_SRCS)): EXTRA_CFLAGS = $(CMOCKA_CFLAGS)

$(LIBDML): $(LIB_OBJS)
	$(say) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $(LIB_OBJS)

dmlctl: $(CMD_OBJS) $(LINK_DEPS)
	$(say) LD $@
	$(Q)$(LINK) -o $@.tmp $(CMD_OBJS) $(LIBDML) $(LIBS) && mv -f $@.tmp $@

$(UNIT_PROGS): t/unit/%: $(B)/t/unit/%.o $(LINK_DEPS)
	$(say) LD $@
	$(Q)$(LINK) -o $@ $< $(LIBDML) $(CMOCKA_LIBS) $(LIBS)

$(FUZZ_PROGS): t/fuzz/%-replay: $(B)/t/fuzz/%.o $(call obj,$(FUZZ_MAIN)) $(LINK_DEPS)
	$(say) LD $@
	$(Q)$(LINK) -o $@ $< $(call obj,$(FUZZ_MAIN)) $(LIBDML) $(LIBS)

$(PERF_PROGS): t/perf/%: $(B)/t/perf/%.o $(LINK_DEPS)
	$(say) LD $@
	$(Q)$(LINK) -o $@ $< $(LIBDML) $(LIBS)

-include $(ALL_OBJS:.o=.d)

# ---------------------------------------------------------------------------
# Running: programs see the tree's dmlctl first in PATH, and its directory in
# DMLCTL_BUILD_DIR; DMLCTL_SOURCE_DIR is the top of the source tree.

RUN_ENV = export DMLCTL_BUILD_DIR='$(call sq,$(CURDIR))' \
	DMLCTL_SOURCE_DIR='$(call sq,$(CURDIR))' \
	DMLCTL_SANITIZE='$(SANITIZE)' \
	PATH='$(call sq,$(CURDIR))':"$$PATH" \
	ASAN_OPTIONS="$${ASAN_OPTIONS:-print_stacktrace=1:detect_leaks=1}" \
	LSAN_OPTIONS="$${LSAN_OPTIONS:-print_suppressions=0:suppressions='$(call sq,$(CURDIR))/t/lsan.supp'}" \
	UBSAN_OPTIONS="$${UBSAN_OPTIONS:-print_stacktrace=1}"

demo: all
	$(Q)$(RUN_ENV); sh contrib/demo.sh

bench: all $(PERF_PROGS)
	$(Q)$(RUN_ENV); cd t/perf && for s in $(notdir $(BENCH_SCRIPTS)); do \
		printf 'BENCH %s\n' "$$s"; \
		if [ -n '$(TEST_SHELL)' ] || [ ! -x "$$s" ]; then $(or $(TEST_SHELL),sh) "./$$s"; \
		else "./$$s"; fi || exit 1; \
	done

# ---------------------------------------------------------------------------
# Checking.  Each unit program, fuzz replay and shell script is one item that
# leaves $(CHECK_DIR)/<item>.res (pass or fail) and <item>.log; items run in
# parallel under make -j, and the check target counts them.

CHECK_DIR := $(B)/check

ifneq ($(strip $(T)),)
T_WORDS := $(patsubst t/%,%,$(T))
SEL_SCRIPTS := $(filter $(TEST_SCRIPTS),$(sort $(foreach w,$(T_WORDS),\
	$(wildcard t/$(w) t/$(w)*.sh))))
SEL_UNITS := $(filter $(UNIT_PROGS),$(sort $(foreach w,$(T_WORDS),\
	$(patsubst %.c,%,$(wildcard t/$(w).c)))))
SEL_FUZZ := $(filter $(FUZZ_PROGS),$(sort $(foreach w,$(T_WORDS),\
	$(patsubst %.c,%-replay,$(wildcard t/$(w).c)))))
else
SEL_SCRIPTS := $(TEST_SCRIPTS)
SEL_UNITS := $(UNIT_PROGS)
SEL_FUZZ := $(FUZZ_PROGS)
endif

UNIT_RESULTS := $(SEL_UNITS:%=$(CHECK_DIR)/%.res)
FUZZ_RESULTS := $(SEL_FUZZ:%=$(CHECK_DIR)/%.res)
SCRIPT_RESULTS := $(SEL_SCRIPTS:%=$(CHECK_DIR)/%.res)
CHECK_RESULTS := $(UNIT_RESULTS) $(FUZZ_RESULTS) $(SCRIPT_RESULTS)

TIMEOUT := $(if $(filter-out 0,$(TEST_TIMEOUT)),$(if $(shell command -v timeout),\
	timeout -k 10 $(TEST_TIMEOUT)))

# A store or repository of the caller's (say, make check run from a git hook)
# must never leak into the tests.
TEST_UNSET := DMLCTL_DIR GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE \
	GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_COMMON_DIR

# $(call run_item,DIR,COMMAND): run COMMAND in DIR, record the outcome in $@.
define run_item
@mkdir -p $(@D); rm -f $@ $(@:.res=.log)
@( $(RUN_ENV); unset $(TEST_UNSET); cd $(1) && exec $(TIMEOUT) $(2) ) >$(@:.res=.log) 2>&1 </dev/null; \
	st=$$?; n='$(patsubst $(CHECK_DIR)/%.res,%,$@)'; \
	if [ $$st -eq 0 ]; then echo pass >$@; printf 'ok   %s\n' "$$n"; \
	elif [ $$st -eq 124 ] && [ -n '$(TIMEOUT)' ]; then \
		echo "fail: timed out after $(TEST_TIMEOUT)s" >$@; printf 'FAIL %s (timed out)\n' "$$n"; \
	else echo "fail: exit status $$st" >$@; printf 'FAIL %s (exit status %s)\n' "$$n" "$$st"; fi
$(if $(filter 1,$(V)),@cat $(@:.res=.log))
endef

# Everything is built before the first item runs.
$(UNIT_RESULTS): $(CHECK_DIR)/%.res: % FORCE | $(CHECK_PROGS)
	$(call run_item,t,'$(CURDIR)/$*')

$(FUZZ_RESULTS): $(CHECK_DIR)/%.res: % FORCE | $(CHECK_PROGS)
	$(call run_item,.,./$* $(wildcard $(patsubst t/fuzz/%-replay,t/fuzz/corpus/%,$*)))

# A script runs with its #! line when it is executable, else with sh;
# TEST_SHELL=bash (say) forces a shell.
$(SCRIPT_RESULTS): $(CHECK_DIR)/%.res: % FORCE | $(CHECK_PROGS)
	$(call run_item,t,$(or $(TEST_SHELL),$(if $(shell test -x $* && echo x),,sh)) ./$(notdir $*))

check: $(CHECK_PROGS) $(CHECK_RESULTS)
ifneq ($(strip $(T)),)
	@if [ -z '$(strip $(CHECK_RESULTS))' ]; then echo 'no test matches T=$(T)' >&2; exit 2; fi
endif
	@pass=0; fail=0; failed=; \
	for r in $(CHECK_RESULTS); do \
		if [ "$$(cat $$r 2>/dev/null)" = pass ]; then pass=$$((pass + 1)); \
		else fail=$$((fail + 1)); failed="$$failed $$r"; fi; \
	done; \
	for r in $$failed; do \
		n=$${r#$(CHECK_DIR)/}; n=$${n%.res}; log=$${r%.res}.log; \
		if grep -q '^not ok' "$$log"; then \
			printf '\n--- %s: %s; from the first failure in %s:\n' "$$n" "$$(cat $$r)" "$$log"; \
			sed -n '/^not ok/,$$p' "$$log" | head -n $(LOG_LINES); \
		else \
			printf '\n--- %s: %s; last lines of %s:\n' "$$n" "$$(cat $$r)" "$$log"; \
			tail -n $(LOG_LINES) "$$log"; \
		fi; \
	done; \
	if [ $$fail -ne 0 ]; then printf '\nfailed:'; \
		for r in $$failed; do n=$${r#$(CHECK_DIR)/}; printf ' %s' "$${n%.res}"; done; \
		printf '\n'; fi; \
	echo "$$pass passed, $$fail failed"; \
	[ $$fail -eq 0 ]

# ---------------------------------------------------------------------------
# Installing

MAN1 := $(wildcard doc/*.1)
MAN5 := $(wildcard doc/*.5)
COMPLETION := $(wildcard contrib/completion/dmlctl.bash)

install: all
	$(INSTALL) -d '$(DESTDIR)$(BINDIR)'
	$(INSTALL) -m 755 dmlctl '$(DESTDIR)$(BINDIR)/dmlctl'
ifneq ($(MAN1),)
	$(INSTALL) -d '$(DESTDIR)$(MANDIR)/man1'
	$(INSTALL) -m 644 $(MAN1) '$(DESTDIR)$(MANDIR)/man1'
endif
ifneq ($(MAN5),)
	$(INSTALL) -d '$(DESTDIR)$(MANDIR)/man5'
	$(INSTALL) -m 644 $(MAN5) '$(DESTDIR)$(MANDIR)/man5'
endif
ifneq ($(COMPLETION),)
	$(INSTALL) -d '$(DESTDIR)$(BASHCOMPDIR)'
	$(INSTALL) -m 644 $(COMPLETION) '$(DESTDIR)$(BASHCOMPDIR)/dmlctl'
endif

uninstall:
	rm -f '$(DESTDIR)$(BINDIR)/dmlctl' '$(DESTDIR)$(BASHCOMPDIR)/dmlctl' \
		$(patsubst doc/%,'$(DESTDIR)$(MANDIR)/man1/%',$(MAN1)) \
		$(patsubst doc/%,'$(DESTDIR)$(MANDIR)/man5/%',$(MAN5))

# ---------------------------------------------------------------------------
# Housekeeping

deps:
	sh contrib/install-deps.sh

# Programs of sources since removed go too: executables without a dot.
clean:
	rm -rf .build dmlctl t/fuzz/*-replay t/trash*
	find t/unit t/perf -maxdepth 1 -type f -perm -u+x ! -name '*.*' -exec rm -f {} + 2>/dev/null || :

distclean: clean
	rm -f config.mk config.mk.tmp config.log

help:
	@sed -n '3,/^$$/s/^# \{0,1\}//p' Makefile

FORCE:
.PHONY: all tests check demo bench install uninstall deps clean distclean help FORCE
