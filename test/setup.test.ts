// Root hooks: one MariaDB for the whole run (the machine's, or a private one stopped at the end).
import { mariadb, stopMariadb } from './harness/mariadb.ts'

before(async function () {
  this.timeout(120000)
  await mariadb()
})

after(async () => {
  await stopMariadb()
})
