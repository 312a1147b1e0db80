// Express 4, installed under the alias "express4" to test the adapter on
// both majors, has no declarations of its own under that name; the test
// app uses only what Express 4 and 5 share, so Express 5's types stand in.
declare module "express4" {
  import express from "express";
  export default express;
}
