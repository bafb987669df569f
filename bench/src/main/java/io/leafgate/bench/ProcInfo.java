package io.leafgate.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Reads process figures from Linux's {@code /proc}. */
final class ProcInfo {
  private ProcInfo() {}

  /** The resident set size of a process in KiB ({@code VmRSS} in {@code /proc/PID/status}). */
  static long rssKiB(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.substring(6).replace("kB", "").trim());
      }
    }
    throw new IOException("no VmRSS line for pid " + pid + " (is it a zombie?)");
  }

  /**
   * The soft limit on open files of a process ({@code Max open files} in {@code /proc/PID/limits});
   * {@code Long.MAX_VALUE} when unlimited.
   */
  static long openFilesLimit(String pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", pid, "limits"))) {
      if (line.startsWith("Max open files")) {
        String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
        return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
      }
    }
    throw new IOException("no 'Max open files' line in /proc/" + pid + "/limits");
  }

  /** The command line of a process, its arguments joined by spaces, if it is readable. */
  static Optional<String> commandLine(long pid) {
    try {
      byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
      String s = new String(raw, StandardCharsets.UTF_8).replace('\0', ' ').trim();
      return s.isEmpty() ? Optional.empty() : Optional.of(s);
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** The 1, 5 and 15 minute load averages from {@code /proc/loadavg}, or "?" when unreadable. */
  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }
}
