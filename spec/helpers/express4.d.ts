// Express 4 is installed under the alias `express4` so the whole suite can run against both majors. Its API, as
// far as this package and its specs use it, is the one `@types/express` describes.
declare module 'express4' {
  import express from 'express'
  export default express
}
