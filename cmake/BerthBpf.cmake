# BPF programs: ebpf/bpf/<name>.bpf.c -> <name>.bpf.o (clang -target bpf,
# CO-RE) -> <name>.skel.h (bpftool gen skeleton). vmlinux.h is generated from
# the build host's BTF (/sys/kernel/btf/vmlinux): Debian's kernels ship BTF,
# and CO-RE relocations make the objects portable to other kernels, so no
# copy is checked in. A build host without BTF fails at configure time.
include_guard(GLOBAL)
find_program(BERTH_BPFTOOL bpftool PATHS /usr/sbin /sbin)
if(NOT BERTH_BPFTOOL)
  message(FATAL_ERROR "bpftool not found: apt-get install bpftool (or run tools/setup-deps.sh)")
endif()
find_program(BERTH_BPF_CLANG clang)
if(NOT BERTH_BPF_CLANG)
  message(FATAL_ERROR "clang not found (needed for -target bpf): apt-get install clang")
endif()
set(BERTH_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH "kernel BTF used to generate vmlinux.h")
if(NOT EXISTS ${BERTH_BTF})
  message(FATAL_ERROR "${BERTH_BTF} missing: build on a kernel with CONFIG_DEBUG_INFO_BTF "
    "(Debian's have it) or point -DBERTH_BTF at a BTF file")
endif()
set(BERTH_BPF_GEN ${CMAKE_BINARY_DIR}/ebpf/gen)
file(MAKE_DIRECTORY ${BERTH_BPF_GEN})
add_custom_command(OUTPUT ${BERTH_BPF_GEN}/vmlinux.h
  COMMAND ${BERTH_BPFTOOL} btf dump file ${BERTH_BTF} format c > ${BERTH_BPF_GEN}/vmlinux.h
  COMMENT "vmlinux.h from ${BERTH_BTF}" VERBATIM)

# berth_bpf_skeleton(<name>): adds ${BERTH_BPF_GEN}/<name>.skel.h to the
# outputs; depend on target berth_bpf_<name>.
function(berth_bpf_skeleton name)
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/bpf/${name}.bpf.c)
  set(obj ${BERTH_BPF_GEN}/${name}.bpf.o)
  set(skel ${BERTH_BPF_GEN}/${name}.skel.h)
  add_custom_command(OUTPUT ${obj}
    COMMAND ${BERTH_BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror
            -I${BERTH_BPF_GEN} -I${CMAKE_CURRENT_SOURCE_DIR}/bpf -c ${src} -o ${obj}
    DEPENDS ${src} ${CMAKE_CURRENT_SOURCE_DIR}/bpf/${name}.h ${BERTH_BPF_GEN}/vmlinux.h
    COMMENT "BPF ${name}.bpf.o" VERBATIM)
  add_custom_command(OUTPUT ${skel}
    COMMAND ${BERTH_BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}
    DEPENDS ${obj} COMMENT "BPF skeleton ${name}.skel.h" VERBATIM)
  add_custom_target(berth_bpf_${name} DEPENDS ${skel})
endfunction()
