package io.leafgate.bench; public final class Bench { public static void main(String[] a) {} }
