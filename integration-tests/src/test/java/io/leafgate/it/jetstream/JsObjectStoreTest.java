package io.leafgate.it.jetstream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.ObjectStore;
import io.nats.client.api.ObjectInfo;
import io.nats.client.api.ObjectMeta;
import io.nats.client.api.ObjectStoreConfiguration;
import io.nats.client.api.StorageType;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** §14 F: the jnats object store on leafgate's JetStream: a 1 MiB object in chunks, round trip and digest. */
class JsObjectStoreTest {
  @Test
  void putGetInfoListDelete(@TempDir Path tmp) throws Exception {
    ClientEvents ev = new ClientEvents();
    try (JsGateway gw = JsGateway.start(tmp.resolve("store"));
         Connection nc = Clients.connect(gw.url(), ev)) {
      nc.objectStoreManagement().create(ObjectStoreConfiguration.builder("files").storageType(StorageType.File)
          .build());
      ObjectStore os = nc.objectStore("files");
      byte[] data = new byte[1024 * 1024 + 123];
      new Random(42).nextBytes(data);
      ObjectInfo put = os.put(ObjectMeta.builder("big.bin").chunkSize(128 * 1024).build(),
          new ByteArrayInputStream(data));
      assertEquals(data.length, put.getSize());
      assertEquals(9, put.getChunks());
      String digest = "SHA-256=" + Base64.getUrlEncoder().encodeToString(MessageDigest.getInstance("SHA-256")
          .digest(data));
      assertEquals(digest, put.getDigest());

      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ObjectInfo got = os.get("big.bin", out); // jnats checks the digest and the size itself
      assertArrayEquals(data, out.toByteArray());
      assertEquals(put.getNuid(), got.getNuid());

      os.put("small.txt", "hello".getBytes());
      ObjectInfo info = os.getInfo("big.bin");
      assertEquals(data.length, info.getSize());
      assertFalse(info.isDeleted());
      List<ObjectInfo> list = os.getList();
      assertEquals(List.of("big.bin", "small.txt"), list.stream().map(ObjectInfo::getObjectName).sorted().toList());

      // Replacing an object purges the old chunks.
      os.put(ObjectMeta.builder("big.bin").chunkSize(128 * 1024).build(), new ByteArrayInputStream(new byte[1000]));
      ByteArrayOutputStream out2 = new ByteArrayOutputStream();
      os.get("big.bin", out2);
      assertEquals(1000, out2.size());
      long streamBytes = nc.jetStreamManagement().getStreamInfo("OBJ_files").getStreamState().getByteCount();
      assertTrue(streamBytes < 100_000, "old chunks not purged: " + streamBytes + " bytes");

      ObjectInfo del = os.delete("big.bin");
      assertTrue(del.isDeleted());
      assertNull(os.getInfo("big.bin"));
      assertTrue(os.getInfo("big.bin", true).isDeleted());
      assertEquals(List.of("small.txt"), os.getList().stream().map(ObjectInfo::getObjectName).toList());
      assertEquals("", ev.problems());
    }
  }
}
