# cgroup2.vm: runs cgroups_cgroup2_test inside tools/vmtest, a qemu VM booted
# with cgroup v2 alone, where cpu/memory/pids enforcement can be checked for
# real (the build hosts bind those controllers to cgroup v1). Included at the
# end of tests/cgroup2/CMakeLists.txt, after the test binary is defined.
# vmtest.sh exits 77 with "SKIP: <reason>" when qemu or the kernel package
# cannot be had; otherwise with the binary's exit status.
if(TARGET cgroups_cgroup2_test)
  add_test(
    NAME cgroup2.vm
    # --timeout stays under ctest's TIMEOUT so vmtest reports a VM timeout
    # (exit 124) itself instead of being killed silently.
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/../../tools/vmtest/vmtest.sh --timeout 540
            -- $<TARGET_FILE:cgroups_cgroup2_test> --gtest_brief=0 --gtest_color=no)
  set_tests_properties(cgroup2.vm PROPERTIES
    LABELS cgroup2
    SKIP_RETURN_CODE 77
    TIMEOUT 600)
endif()
